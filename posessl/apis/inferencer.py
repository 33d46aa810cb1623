"""``PoseInferencer``: a trained pose model on images of one's own, through
the config's test pipeline (after its loading step) and ``model.test_step``,
so a test frame gets the pose ``tools/test.py`` gives it."""
import copy
import os.path as osp
from dataclasses import dataclass
from functools import partial
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import FUNCTIONS

from posessl.datasets.transforms import check_mask, read_mask, read_rgb
from posessl.datasets.transforms.crop import load_detections
from posessl.errors import DataError, InferenceError
from posessl.geometry.crop import mask_box
from posessl.visualization import PRED_COLOR, draw_pose

from .builders import (
    build_inference_model,
    load_weights,
    plain_config,
    unwrap_dataset_cfg,
)

__all__ = ['PoseInferencer', 'PosePrediction']

_LOADERS = ('LoadImageAndMask', 'posessl.LoadImageAndMask')
_CROPS = ('MaskCenteredCrop', 'posessl.MaskCenteredCrop')
_BACKGROUNDS = ('MaskBackground', 'posessl.MaskBackground')
_QUERY_KEYS = {'image', 'obj_id', 'cam_K', 'mask', 'box', 'detections',
               'scene_id', 'im_id'}

ImageLike = Union[str, np.ndarray]


@dataclass
class PosePrediction:
    """The pose of one object in one image.

    Attributes:
        R: (3, 3) float32 rotation, ``x_cam = R @ x_model + t``.
        t: (3,) float32 translation (mm).
        score: Confidence of the pose; always None (the models predict
            none).
        obj_id: The object.
        img_path: The image file (absolute), None for an array input.
        overlay: With ``visualize=True``, the RGB image with the predicted
            pose drawn in red.
    """

    R: np.ndarray
    t: np.ndarray
    score: Optional[float]
    obj_id: int
    img_path: Optional[str] = None
    overlay: Optional[np.ndarray] = None


def _floats(value: Any) -> np.ndarray:
    """``value`` as a float64 array; empty when it is not numeric."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return np.full(0, np.nan)


class PoseInferencer:
    """Run a trained pose model on images of one's own.

    ``inferencer(image, obj_id, cam_K, mask=...)`` returns one
    :class:`PosePrediction`; :meth:`infer` runs a list of such queries in
    batches. The object ids it takes are those the checkpoint was trained
    on (its ``meta['dataset_meta']['obj_ids']``), else every object of the
    config's ``model.objects``, whose points the overlay draws.

    Args:
        config: Config file or ``Config`` with ``model`` and
            ``test_dataloader``.
        checkpoint: Trained checkpoint (read with ``weights_only=True``).
        device: ``'cpu'``, ``'cuda'``...; default CUDA when available.
        cfg_options: Overrides merged into the config.
        batch_size: Images per forward pass (default: the config's
            ``test_dataloader.batch_size``).

    Raises:
        InferenceError: the config cannot be used, or its model has no
            objects.
        CheckpointError: the checkpoint cannot be loaded into the model
            (:func:`~posessl.apis.load_weights`).
    """

    def __init__(self, config: Union[str, Config], checkpoint: str,
                 device: Optional[str] = None,
                 cfg_options: Optional[dict] = None,
                 batch_size: Optional[int] = None) -> None:
        if isinstance(config, Config):
            cfg = copy.deepcopy(config)
        elif osp.isfile(config):
            cfg = Config.fromfile(config)
        else:
            raise InferenceError(f'{config}: config file not found')
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        self.name = cfg.filename or 'the config'
        for key in ('model', 'test_dataloader'):
            if cfg.get(key) is None:
                raise InferenceError(f'{self.name}: defines no {key}')
        self.cfg = cfg
        self.device = device or ('cuda' if torch.cuda.is_available() else
                                 'cpu')
        self.model = build_inference_model(cfg, device=self.device)
        self.objects = getattr(self.model, 'objects', None)
        if self.objects is None:
            raise InferenceError(
                f'{self.name}: the model has no objects; set model.objects='
                'dict(models_dir=<BOP models folder>)')
        meta = load_weights(self.model, checkpoint, allow_partial=bool(
            cfg.get('load_partial', False)))
        trained = (meta.get('dataset_meta') or {}).get('obj_ids')
        self.obj_ids = tuple(sorted(int(i) for i in (
            trained or self.objects.obj_ids)))
        loader = cfg.test_dataloader
        self.batch_size = int(batch_size or loader.get('batch_size', 1))
        if self.batch_size < 1:
            raise InferenceError(f'batch_size must be >= 1, got '
                                 f'{self.batch_size}')
        self.pipeline, self.needs_mask = self._pipeline(
            unwrap_dataset_cfg(loader.dataset).get('pipeline') or [])
        codec = getattr(getattr(self.model, 'head', None), 'decoder', None)
        if getattr(codec, 'depth_ref', None) == 'mask_area':
            self.needs_mask = True
        collate = plain_config(loader.get('collate_fn') or
                         dict(type='pseudo_collate'))
        self.collate = partial(FUNCTIONS.get(collate.pop('type')), **collate)
        self._detections: Dict[str, dict] = {}

    def _pipeline(self, transforms: Sequence[dict]):
        """The test pipeline after its loading step (a detections-file crop
        made a mask/box crop), and whether it needs the object mask."""
        transforms = [plain_config(t) for t in transforms]
        if not transforms or transforms[0].get('type') not in _LOADERS:
            raise InferenceError(
                f'{self.name}: the test pipeline must start with '
                'LoadImageAndMask')
        rest = transforms[1:]
        for t in rest:
            if t.get('type') in _CROPS and t.get('box_source') == \
                    'detections':
                t['box_source'] = 'mask'
                t.pop('detections_file', None)
        needs_mask = any(t.get('type') in _BACKGROUNDS for t in rest)
        return Compose(rest), needs_mask

    def _detection_box(self, path: str, scene_id: Any, im_id: Any,
                       obj_id: int, name: str) -> List[float]:
        if scene_id is None or im_id is None:
            raise InferenceError(f'{name}: a detections file needs scene_id '
                                 'and im_id')
        if path not in self._detections:
            self._detections[path] = load_detections(path)
        key = (int(scene_id), int(im_id), obj_id)
        if key not in self._detections[path]:
            raise InferenceError(f'{path}: no detection of object {obj_id} '
                                 f'in scene {key[0]}, image {key[1]}')
        return list(self._detections[path][key])

    def _prepare(self, query: Mapping, index: int) -> dict:
        """A checked data info with the image and mask loaded."""
        unknown = set(query) - _QUERY_KEYS
        if unknown:
            raise InferenceError(f'query {index}: unknown keys '
                                 f'{sorted(unknown)}')
        image = query.get('image')
        name = image if isinstance(image, str) else f'image {index}'
        if isinstance(image, str):
            img = read_rgb(image)
        elif isinstance(image, np.ndarray) and image.ndim == 3 and \
                image.shape[2] == 3 and image.dtype == np.uint8:
            img = image
        else:
            raise InferenceError(f'{name}: expected an image path or an '
                                 '(H, W, 3) uint8 RGB array')
        h, w = img.shape[:2]
        obj_id = query.get('obj_id')
        if not isinstance(obj_id, (int, np.integer)) or \
                int(obj_id) not in self.obj_ids:
            raise InferenceError(f'{name}: obj_id {obj_id} is not one of '
                                 f'the model\'s objects {self.obj_ids}')
        obj_id = int(obj_id)
        K = _floats(query.get('cam_K'))
        if K.shape != (3, 3) or not np.isfinite(K).all() or \
                K[0, 0] <= 0 or K[1, 1] <= 0:
            raise InferenceError(f'{name}: cam_K must be a finite 3x3 '
                                 'camera matrix with positive focal lengths')
        given = [k for k in ('mask', 'box', 'detections')
                 if query.get(k) is not None]
        if len(given) != 1:
            raise InferenceError(f'{name}: give one of mask, box or '
                                 f'detections (got {given or "none"})')
        info = dict(img=img, img_shape=(h, w), ori_shape=(h, w), cam_K=K,
                    obj_id=obj_id, mask=None, mask_path=None)
        if isinstance(image, str):
            info['img_path'] = image
        for key in ('scene_id', 'im_id'):
            if query.get(key) is not None:
                info[key] = int(query[key])
        mask = query.get('mask')
        if mask is not None:
            info['mask'], info['mask_path'] = self._mask(mask, (h, w), name)
            info['bbox'] = mask_box(info['mask'])
            return info
        box = query.get('box')
        if box is None:
            box = self._detection_box(query['detections'],
                                      query.get('scene_id'),
                                      query.get('im_id'), obj_id, name)
        box = _floats(box).reshape(-1)
        if box.shape != (4, ) or not np.isfinite(box).all() or \
                box[2] < 0 or box[3] < 0:
            raise InferenceError(f'{name}: box must be [x, y, w, h] with '
                                 f'w, h >= 0, got {box.tolist()}')
        x, y, bw, bh = box
        if x > w - 1 or y > h - 1 or x + bw < 0 or y + bh < 0:
            raise InferenceError(f'{name}: box {box.tolist()} lies outside '
                                 f'the {w}x{h} image')
        if self.needs_mask:
            raise InferenceError(
                f'{name}: the model of {self.name} needs the object mask '
                '(its test pipeline replaces the background outside it, or '
                'its head measures depth by the mask area); give mask=')
        info['bbox'] = box.tolist()
        return info

    @staticmethod
    def _mask(mask: ImageLike, shape: tuple, name: str):
        """The mask as (H, W) bool and its path (None for an array)."""
        path = mask if isinstance(mask, str) else None
        where = path or f'the mask of {name}'
        if path is not None:
            mask = read_mask(path)
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise InferenceError(f'{where}: expected an (H, W) mask, got '
                                 f'shape {mask.shape}')
        mask = mask.astype(bool)
        check_mask(mask, shape, where, InferenceError)
        return mask, path

    def __call__(self, image: ImageLike, obj_id: int, cam_K: np.ndarray,
                 mask: Optional[ImageLike] = None,
                 box: Optional[Sequence[float]] = None,
                 detections: Optional[str] = None,
                 scene_id: Optional[int] = None,
                 im_id: Optional[int] = None,
                 visualize: bool = False) -> PosePrediction:
        """The pose of ``obj_id`` in ``image`` (see :meth:`infer`).

        Give exactly one of ``mask``, ``box`` or ``detections``; a model
        whose test pipeline masks the background, or whose head measures
        depth by the mask area, needs ``mask``.

        Args:
            image: Image path or (H, W, 3) uint8 RGB array.
            obj_id: The object (one the model was trained on).
            cam_K: (3, 3) camera matrix of the image.
            mask: The object's mask: path, or (H, W) array (non-zero is
                object).
            box: ``[x, y, w, h]`` (BOP convention) instead of a mask.
            detections: BOP detections JSON instead: the highest-scoring
                box of ``(scene_id, im_id, obj_id)``.
            scene_id, im_id: The frame's ids (needed with detections).
            visualize: Also draw the pose on the image.
        """
        query = dict(image=image, obj_id=obj_id, cam_K=cam_K, mask=mask,
                     box=box, detections=detections, scene_id=scene_id,
                     im_id=im_id)
        return self.infer([query], visualize=visualize)[0]

    def infer(self, queries: Sequence[Mapping],
              visualize: bool = False) -> List[PosePrediction]:
        """Poses for several queries (dicts with the keys of
        :meth:`__call__` but ``visualize``), ``batch_size`` at a time; every
        query is checked before any is run.

        Raises:
            InferenceError: a bad query, naming its image and the problem.
        """
        try:
            infos = [self._prepare(q, i) for i, q in enumerate(queries)]
        except (DataError, FileNotFoundError) as err:  # unreadable files
            raise InferenceError(str(err)) from None
        results: List[PosePrediction] = []
        for start in range(0, len(infos), self.batch_size):
            chunk = infos[start:start + self.batch_size]
            try:
                packed = [self.pipeline(dict(info)) for info in chunk]
            except DataError as err:
                raise InferenceError(str(err)) from None
            with torch.no_grad():
                samples = self.model.test_step(self.collate(packed))
            for info, sample in zip(chunk, samples):
                results.append(self._prediction(info, sample, visualize))
        return results

    def _prediction(self, info: dict, sample: Any,
                    visualize: bool) -> PosePrediction:
        R = sample.pred_R.detach().cpu().numpy()
        t = sample.pred_t.detach().cpu().numpy()
        overlay = None
        if visualize:
            overlay = draw_pose(info['img'],
                                self.objects.object_points(info['obj_id']),
                                R, t, info['cam_K'], color=PRED_COLOR)
        path = info.get('img_path')
        return PosePrediction(R=R, t=t, score=None, obj_id=info['obj_id'],
                              img_path=None if path is None else
                              osp.abspath(path), overlay=overlay)
