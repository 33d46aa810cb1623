"""Test-time refinement of predicted poses from the object's mask and mesh."""
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from posessl.registry import MODELS
from posessl.rendering import Mesh, Renderer
from posessl.structures.bop_models import load_model_mesh, model_file

__all__ = ['SilhouetteDepthRefiner']


@MODELS.register_module()
class SilhouetteDepthRefiner:
    """Slide each predicted translation along its viewing ray until the
    mesh's silhouette at the predicted rotation covers the mask's area.

    ``t <- t * sqrt(A(R, t) / mask_area)``, ``iters`` times, ``A`` the
    silhouette's pixel count rendered at ``supersample`` times the image
    resolution (one EGL context per camera and image size). Each sample
    needs ``pred_R``, ``pred_t``, ``cam_K``, ``obj_id``, ``ori_shape`` and
    ``mask_area``; it keeps its pose without ``mask_area``, with a
    non-finite pose, ``t_z <= 0``, an empty silhouette, or a depth change
    beyond ``max_change``. The mask must be the whole (amodal) silhouette:
    an occluded object's visible part puts it too far.

    Args:
        models_dir: BOP models folder with ``obj_<id>.ply`` (6 or 2 digit
            ids), millimetres.
        iters: rescaling steps.
        supersample: silhouette resolution over the image's.
        max_change: largest relative depth change accepted (0.2 = 20 %).
        align_centroid: also move the object's image position until the
            silhouette's centroid is the mask's (``mask_centroid``).

    Raises:
        FileNotFoundError: no ``models_dir``.
        ValueError: bad ``iters``, ``supersample`` or ``max_change``.
    """

    def __init__(self, models_dir: str, iters: int = 2,
                 supersample: int = 2, max_change: float = 0.2,
                 align_centroid: bool = False) -> None:
        if not osp.isdir(models_dir):
            raise FileNotFoundError(
                f'{models_dir}: models folder not found (the '
                "SilhouetteDepthRefiner's models_dir: the data set's BOP "
                'models with obj_<id>.ply)')
        if iters < 1 or supersample < 1 or max_change <= 0:
            raise ValueError('SilhouetteDepthRefiner needs iters >= 1, '
                             'supersample >= 1 and max_change > 0, got '
                             f'{iters}, {supersample}, {max_change}')
        self.models_dir = models_dir
        self.iters = int(iters)
        self.supersample = int(supersample)
        self.max_change = float(max_change)
        self.align_centroid = bool(align_centroid)
        self._meshes: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
        self._renderers: Dict[tuple, list] = {}

    def __getstate__(self) -> dict:
        """Picklable (copies drop the GL contexts; they are made again)."""
        state = dict(self.__dict__)
        state['_renderers'] = {}
        return state

    def mesh(self, obj_id: int) -> Tuple[np.ndarray, np.ndarray]:
        """``(vertices, faces)`` of ``obj_id``, read once."""
        if obj_id not in self._meshes:
            paths = [model_file(self.models_dir, obj_id, digits)
                     for digits in (6, 2)]
            path = next((p for p in paths if osp.isfile(p)), paths[0])
            self._meshes[obj_id] = load_model_mesh(path)
        return self._meshes[obj_id]

    def silhouette(self, obj_id: int, R: np.ndarray, t: np.ndarray,
                   K: np.ndarray, image_shape: Sequence[int],
                   supersample: Optional[int] = None) -> np.ndarray:
        """Coverage of the object at pose ``(R, t)`` in the ``(h, w)`` image
        seen by camera ``K``, drawn at ``supersample`` (default: the
        refiner's) times its resolution: a bool ``(s h, s w)`` mask."""
        h, w = (int(v) for v in image_shape[:2])
        s = self.supersample if supersample is None else int(supersample)
        key = (h, w, s, np.asarray(K, np.float64).tobytes())
        if key not in self._renderers:
            K_s = np.array(K, dtype=np.float64)
            # pixel centres: u_s = s (u + 0.5) - 0.5
            K_s[:2, :2] *= s
            K_s[:2, 2] = s * (K_s[:2, 2] + 0.5) - 0.5
            self._renderers[key] = [Renderer(w * s, h * s, K_s,
                                             with_depth=False), None]
        entry = self._renderers[key]
        renderer = entry[0]
        if entry[1] != obj_id:
            vertices, faces = self.mesh(obj_id)
            renderer.set_mesh(Mesh(vertices, np.zeros_like(vertices), faces,
                                   np.zeros((len(vertices), 3), np.uint8)))
            entry[1] = obj_id
        return renderer.silhouette(np.asarray(R, np.float64),
                                   np.asarray(t, np.float64), 0, 0)

    def silhouette_stats(self, obj_id: int, R: np.ndarray, t: np.ndarray,
                         K: np.ndarray, image_shape: Sequence[int]
                         ) -> Tuple[float, Optional[np.ndarray]]:
        """Area (source px, fractional) and centroid (mean source pixel
        ``(x, y)``, None where empty) of the silhouette at pose ``(R, t)``
        in the ``(h, w)`` image seen by camera ``K``."""
        cover = self.silhouette(obj_id, R, t, K, image_shape)
        ys, xs = np.nonzero(cover)
        s = self.supersample
        if not len(xs):
            return 0.0, None
        # supersampled pixel centres back to source pixels
        centroid = (np.array([xs.mean(), ys.mean()]) + 0.5) / s - 0.5
        return len(xs) / s**2, centroid

    def mask_iou(self, obj_id: int, R: np.ndarray, t: np.ndarray,
                 K: np.ndarray, mask: np.ndarray) -> float:
        """Intersection over union of the silhouette at ``(R, t)`` and the
        ``(h, w)`` bool ``mask`` (0 for a non-finite pose or depth <= 0)."""
        R = np.asarray(R, np.float64)
        t = np.asarray(t, np.float64)
        if not (np.all(np.isfinite(R)) and np.all(np.isfinite(t))
                and t[2] > 0):
            return 0.0
        cover = self.silhouette(obj_id, R, t, K, mask.shape, supersample=1)
        mask = np.asarray(mask, bool)
        union = np.count_nonzero(cover | mask)
        return float(np.count_nonzero(cover & mask)) / union if union \
            else 0.0

    def refine_translation(self, obj_id: int, R: np.ndarray, t: np.ndarray,
                           K: np.ndarray, image_shape: Sequence[int],
                           mask_area: float,
                           mask_centroid: Optional[np.ndarray] = None
                           ) -> Optional[np.ndarray]:
        """The refined ``t`` (mm), or None where the pose is kept."""
        t0 = np.asarray(t, dtype=np.float64)
        if not (np.all(np.isfinite(R)) and np.all(np.isfinite(t0))
                and t0[2] > 0 and mask_area > 0):
            return None
        align = self.align_centroid and mask_centroid is not None
        t_new = t0.copy()
        for _ in range(self.iters):
            area, centroid = self.silhouette_stats(obj_id, R, t_new, K,
                                                   image_shape)
            if area <= 0:
                return None
            t_new = t_new * np.sqrt(area / mask_area)
            if align:  # scaling along the ray kept the centroid's pixel
                du, dv = np.asarray(mask_centroid, np.float64) - centroid
                t_new[0] += du * t_new[2] / K[0, 0]
                t_new[1] += dv * t_new[2] / K[1, 1]
        change = abs(t_new[2] / t0[2] - 1)
        return t_new if change <= self.max_change else None

    def __call__(self, data_samples: Sequence) -> Sequence:
        """Refine ``pred_t`` of each sample in place; returns the samples."""
        for sample in data_samples:
            if 'mask_area' not in sample or 'pred_t' not in sample:
                continue
            centroid = sample.get('mask_centroid')
            t = self.refine_translation(
                int(sample.obj_id),
                sample.pred_R.detach().cpu().double().numpy(),
                sample.pred_t.detach().cpu().double().numpy(),
                sample.cam_K.detach().cpu().double().numpy(),
                sample.ori_shape, float(sample.mask_area),
                None if centroid is None else
                centroid.detach().cpu().double().numpy())
            if t is not None:
                sample.pred_t = torch.as_tensor(
                    t, dtype=torch.float32, device=sample.pred_t.device)
        return data_samples
