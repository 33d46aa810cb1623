"""Pose pictures: overlays, the ``PoseVisualizer`` and its hook.

``draw_pose`` draws a pose's projected 3D box and model outline;
``PoseVisualizer`` (VISUALIZERS) draws GT in green and predictions in red;
``PoseVisualizationHook`` (registered in HOOKS from here) writes the test
pictures for ``tools/test.py --show-dir``.
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
from .hooks import PoseVisualizationHook, sample_name
from .metrics_hook import LogTestMetricsHook
from .pose_visualizer import PoseVisualizer, load_rgb, save_png

__all__ = [
    'GT_COLOR', 'PRED_COLOR', 'BOX_EDGES', 'box_corners', 'outline_polygon',
    'draw_polyline', 'draw_pose', 'PoseVisualizer', 'PoseVisualizationHook',
    'load_rgb', 'save_png', 'sample_name', 'LogTestMetricsHook'
]
