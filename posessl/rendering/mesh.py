"""The triangle mesh the renderer draws."""
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass
class Mesh:
    """Indexed triangle mesh with per-vertex normals and colours.

    Attributes:
        vertices: (N, 3) float64 positions (mm for the renderer).
        normals: (N, 3) float64 unit normals.
        faces: (M, 3) int64 vertex indices, counter-clockwise from outside.
        colors: (N, 3) uint8 RGB colours (zeros until painted).
    """

    vertices: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    colors: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.vertices = np.asarray(self.vertices, dtype=np.float64)
        normals = np.asarray(self.normals, dtype=np.float64)
        norm = np.linalg.norm(normals, axis=-1, keepdims=True)
        self.normals = normals / np.where(norm > 0, norm, 1.0)
        self.faces = np.asarray(self.faces, dtype=np.int64).reshape(-1, 3)
        if self.colors is None:
            self.colors = np.zeros((len(self.vertices), 3), np.uint8)

    def transformed(self, A: np.ndarray, b: Sequence[float] = (0, 0, 0)
                    ) -> 'Mesh':
        """Apply ``x -> A x + b``; normals by the inverse transpose, and the
        winding reversed for a reflection (faces keep pointing out)."""
        A = np.asarray(A, dtype=np.float64)
        verts = self.vertices @ A.T + np.asarray(b, dtype=np.float64)
        normals = self.normals @ np.linalg.inv(A)
        faces = self.faces if np.linalg.det(A) > 0 else self.faces[:, ::-1]
        return Mesh(verts, normals, faces.copy(), self.colors.copy())

    def painted(self, colors: np.ndarray) -> 'Mesh':
        """Copy of the mesh with new (N, 3) RGB colours."""
        colors = np.asarray(colors)
        if colors.shape != (len(self.vertices), 3):
            raise ValueError(f'Mesh.painted: colors must be '
                             f'({len(self.vertices)}, 3), got {colors.shape}')
        return Mesh(self.vertices.copy(), self.normals.copy(),
                    self.faces.copy(), colors.astype(np.uint8))
