"""``PoseVisualizer``: GT (green) and predicted (red) pose overlays."""
import os
from typing import Any, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from posessl.registry import VISUALIZERS
from posessl.structures import ObjectTable, build_object_table

from .draw import GT_COLOR, PRED_COLOR, draw_pose

__all__ = ['PoseVisualizer', 'save_png', 'load_rgb']


def save_png(path: str, image: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG (its folder is created)."""
    from PIL import Image
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(
        path, format='PNG')


def load_rgb(path: str) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable image.
    """
    from PIL import Image, UnidentifiedImageError
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: image not found')
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert('RGB'))
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f'{path}: cannot read the image ({e})') from None


def _np(value: Any) -> Optional[np.ndarray]:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


@VISUALIZERS.register_module()
class PoseVisualizer(Visualizer):
    """Draws the ground-truth and predicted poses of a ``PoseDataSample``
    (:func:`~posessl.visualization.draw_pose`).

    The model points are the ``model_points`` argument, else those of the
    sample's ``obj_id`` in :attr:`objects` (from ``dataset_meta``, which the
    test loop sets to the dataset's metainfo).

    Args:
        name, image, vis_backends, save_dir: See
            :class:`mmengine.visualization.Visualizer`.
        gt_color, pred_color: RGB colours (default green, red).
        thickness: Line width in pixels.
        draw_box, draw_outline: What to draw for each pose.
    """

    def __init__(self, name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[Sequence[dict]] = None,
                 save_dir: Optional[str] = None,
                 gt_color: Sequence[int] = GT_COLOR,
                 pred_color: Sequence[int] = PRED_COLOR,
                 thickness: int = 2,
                 draw_box: bool = True,
                 draw_outline: bool = True) -> None:
        super().__init__(name=name, image=image, vis_backends=vis_backends,
                         save_dir=save_dir)
        self.gt_color = tuple(int(c) for c in gt_color)
        self.pred_color = tuple(int(c) for c in pred_color)
        self.thickness = int(thickness)
        self.draw_box = draw_box
        self.draw_outline = draw_outline
        self._objects: Optional[ObjectTable] = None

    def _camera(self, image: np.ndarray, sample: Any) -> np.ndarray:
        """``cam_K`` for a full image, ``crop_K`` for the network input."""
        shape = tuple(image.shape[:2])
        ori, crop = sample.get('ori_shape'), sample.get('img_shape')
        cam_K, crop_K = sample.get('cam_K'), sample.get('crop_K')
        if crop_K is not None and crop is not None and \
                tuple(crop)[:2] == shape and (
                    ori is None or tuple(ori)[:2] != shape):
            return _np(crop_K)
        if cam_K is not None and (ori is None or tuple(ori)[:2] == shape):
            return _np(cam_K)
        raise ValueError(
            f'PoseVisualizer: image of shape {shape} matches neither the '
            f'original image ({ori}, cam_K) nor the crop ({crop}, crop_K) of '
            f"the data sample of {sample.get('img_path')}")

    @property  # type: ignore[override]
    @master_only
    def dataset_meta(self) -> Optional[dict]:
        """The dataset metainfo the objects come from (setting it drops
        the object table built from the previous one)."""
        return self._dataset_meta

    @dataset_meta.setter
    @master_only
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        self._dataset_meta = dataset_meta
        self._objects = None

    @property
    def objects(self) -> ObjectTable:
        """The :class:`ObjectTable` of :attr:`dataset_meta` (its
        ``models_dir``, else its ``model_points``).

        Raises:
            ValueError: ``dataset_meta`` holds neither.
        """
        if self._objects is None:
            meta = self.dataset_meta or {}
            if not meta.get('models_dir') and 'model_points' not in meta:
                raise ValueError(
                    'PoseVisualizer: dataset_meta names no models_dir and '
                    'holds no model_points; pass model_points= or set '
                    'dataset_meta to the dataset metainfo')
            try:
                self._objects = build_object_table(
                    meta, 'PoseVisualizer dataset_meta')
            except KeyError as e:
                raise ValueError(f'PoseVisualizer: {e.args[0]}') from None
        return self._objects

    def _model_points(self, sample: Any,
                      model_points: Optional[np.ndarray]) -> np.ndarray:
        if model_points is not None:
            return np.asarray(model_points, dtype=np.float64)
        obj_id = sample.get('obj_id')
        if obj_id is None or int(obj_id) not in self.objects:
            raise ValueError(
                'PoseVisualizer: no model points for object '
                f'{obj_id} in {self.objects.source} (it has objects '
                f'{list(self.objects.obj_ids)}); pass model_points=')
        points = self.objects.object_points(int(obj_id))
        return np.asarray(points, dtype=np.float64)

    def draw_sample(self, image: np.ndarray, data_sample: Any,
                    draw_gt: bool = True, draw_pred: bool = True,
                    model_points: Optional[np.ndarray] = None) -> np.ndarray:
        """A copy of ``image`` with the sample's poses drawn (arguments as
        :meth:`add_datasample`'s).

        Raises:
            ValueError: no model points for the sample's object, or the
                image matches neither ``cam_K`` nor ``crop_K``.
        """
        img = np.array(image, dtype=np.uint8, copy=True)
        pts = self._model_points(data_sample, model_points)
        K = self._camera(img, data_sample)
        kw = dict(thickness=self.thickness, draw_box=self.draw_box,
                  draw_outline=self.draw_outline, copy=False)
        for enabled, prefix, color in ((draw_gt, 'gt', self.gt_color),
                                       (draw_pred, 'pred', self.pred_color)):
            R, t = (_np(data_sample.get(f'{prefix}_R')),
                    _np(data_sample.get(f'{prefix}_t')))
            if enabled and R is not None and t is not None:
                draw_pose(img, pts, R, t, K, color=color, **kw)
        return img

    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Any = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None,
                       step: int = 0,
                       model_points: Optional[np.ndarray] = None
                       ) -> np.ndarray:
        """Draw a sample's poses and save, show or log the picture.

        Args:
            name: Image name for the backends (and the window title).
            image: RGB image, the original (drawn with ``cam_K``, shape
                ``ori_shape``) or the network crop (``crop_K``,
                ``img_shape``).
            data_sample: ``PoseDataSample`` or its ``to_dict()``; poses in
                ``gt_R``/``gt_t`` and ``pred_R``/``pred_t``. None: draw
                nothing.
            draw_gt, draw_pred: Which poses to draw.
            show: Show the picture in a window.
            wait_time: Seconds to show it (0: until closed).
            out_file: Write a PNG there (else the picture goes to the
                visualizer's backends).
            step: Global step for the backends.
            model_points: (N, 3) model points overriding ``dataset_meta``.

        Returns:
            The drawn RGB image.
        """
        drawn = image if data_sample is None else self.draw_sample(
            image, data_sample, draw_gt, draw_pred, model_points)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            save_png(out_file, drawn)
        else:
            self.add_image(name, drawn, step)
        return drawn
