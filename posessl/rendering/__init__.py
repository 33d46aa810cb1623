"""Headless OpenGL rendering of a mesh with the OpenCV camera."""
from .mesh import Mesh
from .renderer import EGL_HELP, Renderer, create_context, projection_matrix

__all__ = ['Mesh', 'Renderer', 'create_context', 'projection_matrix',
           'EGL_HELP']
