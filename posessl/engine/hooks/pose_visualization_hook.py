"""``PoseVisualizationHook``: pose overlays during validation and testing."""
import logging
import os.path as osp
from typing import Optional, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.visualization import Visualizer

from posessl.registry import HOOKS
from posessl.visualization import PoseVisualizer, load_rgb, save_png

__all__ = ['PoseVisualizationHook', 'sample_name']


def sample_name(sample) -> str:
    """``<scene>_<im>_obj<id>`` (zero-padded) of a data sample."""
    def get(key):
        value = sample.get(key, -1)
        return int(value.item() if hasattr(value, 'item') else value)

    return (f"{get('scene_id'):06d}_{get('im_id'):06d}_"
            f"obj{get('obj_id'):06d}")


@HOOKS.register_module()
class PoseVisualizationHook(Hook):
    """Draws GT (green) and predicted (red) poses on the original images.

    In testing, every ``interval``-th sample is written to
    ``<work_dir>/<timestamp>/<test_out_dir>/<scene>_<im>_obj<id>.png`` (an
    absolute ``test_out_dir`` is used as is), or to the visualizer's
    backends without a ``test_out_dir``; in validation the first sample of
    every ``interval``-th batch goes to the backends. An unreadable image
    is skipped with one warning.

    Args:
        draw: Whether to draw at all (off by default).
        interval: Draw one sample (test) or batch (val) in ``interval``.
        show: Also show each picture in a window.
        wait_time: Seconds each shown picture stays (0: until closed).
        test_out_dir: Folder of the test pictures.

    Raises:
        ValueError: ``interval`` is below 1.
    """

    priority = 'NORMAL'

    def __init__(self, draw: bool = False, interval: int = 50,
                 show: bool = False, wait_time: float = 0.0,
                 test_out_dir: Optional[str] = None) -> None:
        if interval < 1:
            raise ValueError(f'PoseVisualizationHook: interval must be >= 1, '
                             f'got {interval}')
        self.draw = draw
        self.interval = int(interval)
        self.show = show
        self.wait_time = wait_time
        self.test_out_dir = test_out_dir
        self._test_index = 0
        self._warned = False

    @staticmethod
    def _visualizers(runner) -> Tuple[PoseVisualizer, Visualizer]:
        """A ``PoseVisualizer`` to draw with (the runner's visualizer where
        it is one) and the runner's visualizer, whose backends receive the
        pictures."""
        current = getattr(runner, 'visualizer', None)
        if current is None:
            current = Visualizer.get_current_instance()
        if isinstance(current, PoseVisualizer):
            return current, current
        vis = PoseVisualizer.get_instance('posessl_pose_visualization_hook')
        vis.dataset_meta = getattr(current, 'dataset_meta', None)
        return vis, current

    def _draw(self, runner, sample, name: str, step: int,
              out_file: Optional[str]) -> None:
        path = sample.get('img_path') if hasattr(sample, 'get') else None
        try:
            image = load_rgb(path)
        except (FileNotFoundError, ValueError, TypeError) as e:
            if not self._warned:
                print_log(f'PoseVisualizationHook: skipping pictures: {e}',
                          logger='current', level=logging.WARNING)
                self._warned = True
            return
        vis, backends = self._visualizers(runner)
        drawn = vis.draw_sample(image, sample)
        if self.show:
            vis.show(drawn, win_name=name, wait_time=self.wait_time)
        if out_file is not None:
            save_png(out_file, drawn)
        else:
            backends.add_image(name, drawn, step)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        if not self.draw or not outputs or batch_idx % self.interval:
            return
        self._draw(runner, outputs[0], f'val_{sample_name(outputs[0])}',
                   runner.iter, None)

    def before_test(self, runner) -> None:
        self._test_index = 0

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if not self.draw or not outputs:
            return
        out_dir = None
        if self.test_out_dir is not None:
            out_dir = osp.join(runner.work_dir, runner.timestamp,
                               self.test_out_dir)
        for sample in outputs:
            index, self._test_index = self._test_index, self._test_index + 1
            if index % self.interval:
                continue
            name = sample_name(sample)
            out_file = None if out_dir is None else osp.join(
                out_dir, f'{name}.png')
            self._draw(runner, sample, name, index, out_file)
