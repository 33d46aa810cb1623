"""Pose pictures: overlays and the ``PoseVisualizer``.

``draw_pose`` draws a pose's projected 3D box and model outline;
``PoseVisualizer`` (VISUALIZERS) draws GT in green and predictions in red;
its hook (``PoseVisualizationHook``) lives in ``posessl.engine.hooks``.
"""
from .draw import (
    BOX_EDGES,
    GT_COLOR,
    PRED_COLOR,
    box_corners,
    draw_polyline,
    draw_pose,
    outline_polygon,
)
from .pose_visualizer import PoseVisualizer, load_rgb, save_png

__all__ = [
    'GT_COLOR', 'PRED_COLOR', 'BOX_EDGES', 'box_corners', 'outline_polygon',
    'draw_polyline', 'draw_pose', 'PoseVisualizer', 'load_rgb', 'save_png'
]
