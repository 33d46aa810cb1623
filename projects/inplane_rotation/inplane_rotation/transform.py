"""Turn an object crop about its centre's viewing ray, label and all."""
from typing import Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from posessl.geometry import axis_angle_to_matrix
from posessl.registry import TRANSFORMS

__all__ = ['InPlaneRotation', 'view_ray_homography']


def view_ray_homography(crop_K: np.ndarray, size: Tuple[int, int],
                        angle: float) -> Tuple[np.ndarray, np.ndarray]:
    """The camera rotation about the ray through a crop's centre pixel, and
    the homography it induces on the crop.

    Turning the scene by ``Q`` (camera frame) moves a point's image from
    ``p ~ K X`` to ``p' ~ K Q X = H p`` with ``H = K Q K^-1``: the crop warped
    by ``H`` is exactly the crop of the turned scene, whatever the crop's
    place in the image. The centre pixel lies on the axis and stays put;
    where the crop sits on the optical axis, ``H`` is a plain 2D rotation.

    Args:
        crop_K: (3, 3) the crop's camera matrix.
        size: ``(w, h)`` of the crop; its centre is ``((w-1)/2, (h-1)/2)``.
        angle: radians, about the ray pointing into the scene.

    Returns:
        ``Q`` (3, 3) rotation and ``H`` (3, 3) homography, float64.
    """
    K = np.asarray(crop_K, dtype=np.float64)
    centre = np.array([(size[0] - 1) / 2.0, (size[1] - 1) / 2.0, 1.0])
    ray = np.linalg.solve(K, centre)
    rotvec = torch.as_tensor(angle * ray / np.linalg.norm(ray),
                             dtype=torch.float64)
    Q = axis_angle_to_matrix(rotvec).numpy()
    return Q, K @ Q @ np.linalg.inv(K)


@TRANSFORMS.register_module()
class InPlaneRotation(BaseTransform):
    """Turn the crop about its centre's viewing ray by a random angle.

    The image and mask are warped by :func:`view_ray_homography` and the
    label follows exactly: ``gt_R <- Q gt_R``, ``gt_t <- Q gt_t``, with
    ``crop_K`` unchanged, so the pose head's allocentric rotation turns
    about the crop's ray and its SITE offset turns with the image. Run it
    after :class:`MaskCenteredCrop` and before :class:`MaskBackground` (the
    corners it uncovers lie outside the mask). ``mask_area`` is kept: the
    turn hardly changes the object's visible area.

    Args:
        max_angle: degrees; the angle is uniform in ``[-max_angle,
            max_angle]``.
        prob: probability of turning a sample at all.
    """

    def __init__(self, max_angle: float = 45.0, prob: float = 1.0) -> None:
        if not 0.0 <= max_angle <= 180.0:
            raise ValueError('InPlaneRotation: max_angle must be in [0, '
                             f'180] degrees, got {max_angle}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'InPlaneRotation: prob must be in [0, 1], '
                             f'got {prob}')
        self.max_angle = float(max_angle)
        self.prob = float(prob)

    def transform(self, results: dict) -> dict:
        if 'crop_K' not in results:
            raise KeyError('InPlaneRotation needs crop_K: put it after '
                           'MaskCenteredCrop')
        if np.random.rand() >= self.prob:
            return results
        angle = np.radians(np.random.uniform(-self.max_angle,
                                             self.max_angle))
        return self.rotate(results, angle)

    @staticmethod
    def rotate(results: dict, angle: float) -> dict:
        """Turn ``results`` by ``angle`` radians (the deterministic core)."""
        h, w = results['img'].shape[:2]
        Q, H = view_ray_homography(results['crop_K'], (w, h), angle)
        results['img'] = cv2.warpPerspective(
            results['img'], H, (w, h), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if results.get('mask') is not None:
            mask = cv2.warpPerspective(
                results['mask'].astype(np.uint8), H, (w, h),
                flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                borderValue=0)
            results['mask'] = mask.astype(bool)
        for key in ('gt_R', 'gt_t'):
            if results.get(key) is not None:
                value = np.asarray(results[key], dtype=np.float64)
                results[key] = Q @ value
        results['inplane_angle'] = float(np.degrees(angle))
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(max_angle={self.max_angle}, '
                f'prob={self.prob})')
