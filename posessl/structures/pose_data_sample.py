"""The data element passed between transforms, models, metrics and hooks."""
from typing import Any, Dict, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import BaseDataElement

__all__ = ['PoseDataSample', 'TENSOR_FIELDS', 'stack_field', 'sample_name']

#: The typed data fields, ``name: (dtype, shape)`` (see
#: :class:`PoseDataSample`).
TENSOR_FIELDS: Dict[str, Tuple[torch.dtype, Tuple[int, ...]]] = {
    'obj_id': (torch.int64, ()),
    'has_pose': (torch.bool, ()),
    'cam_K': (torch.float64, (3, 3)),
    'crop_K': (torch.float64, (3, 3)),
    'mask_area': (torch.float32, ()),
    'mask_centroid': (torch.float64, (2, )),
    'gt_R': (torch.float32, (3, 3)),
    'gt_t': (torch.float32, (3, )),
    'gt_site': (torch.float32, (3, )),
    'pred_R': (torch.float32, (3, 3)),
    'pred_t': (torch.float32, (3, )),
    'pred_score': (torch.float32, ()),
}


def sample_name(sample: Any) -> str:
    """A data sample's ``img_path`` for messages, or ``<unknown image>``."""
    get = getattr(sample, 'get', None)
    path = get('img_path', None) if get is not None else None
    return str(path) if path is not None else '<unknown image>'


def _typed(name: str, value: Any, where: str) -> torch.Tensor:
    dtype, shape = TENSOR_FIELDS[name]
    try:
        tensor = torch.as_tensor(value, dtype=dtype) if not isinstance(
            value, torch.Tensor) else value.to(dtype)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f'{name} of {where} must be numbers, got '
                        f'{type(value).__name__}') from None
    if tuple(tensor.shape) != shape:
        if tensor.numel() != int(np.prod(shape)):
            raise ValueError(f'{name} of {where} must have shape {shape}, '
                             f'got {tuple(tensor.shape)}')
        tensor = tensor.reshape(shape)
    # checked on the host only: a device tensor was checked when set there
    if (name == 'mask_area' and tensor.device.type == 'cpu'
            and not bool(tensor > 0)):
        raise ValueError(f'mask_area of {where} must be positive (an empty '
                         f'mask has none), got {float(tensor)}')
    return tensor


class PoseDataSample(BaseDataElement):
    """One object instance in one image, with its pose labels and predictions.

    Metainfo (set by the data pipeline, plain Python):
        ``img_path``, ``scene_id``, ``im_id``, ``ori_shape``, ``img_shape``,
        ``bbox`` (x, y, w, h in the source image), ``crop_center`` (cx, cy
        source px), ``crop_size`` (source px), ``zoom`` (input px per source
        px), ``zoom_xy`` (``resize`` crops).

    Typed data fields (dtypes and shapes in :data:`TENSOR_FIELDS`; moved
    to the model's device with the batch): ``obj_id``; ``has_pose``, the
    frame's pose labels may be used; ``cam_K`` of the source image;
    ``crop_K`` of the network input; ``mask_area``, the loaded mask's
    source-pixel count, and ``mask_centroid``, its mean (x, y) source pixel
    (both only where a non-empty mask was loaded); ``gt_R``, ``gt_t`` (mm);
    ``gt_site``, the SITE target encoded by ``GeneratePoseTarget``;
    ``pred_R``, ``pred_t`` and ``pred_score``, set by the model.

    Assigning to a typed field (tensor, array, number or nested list)
    converts it to the field's dtype and checks its shape (``mask_area``
    must be positive, on the host); a bad value raises ``TypeError`` or
    ``ValueError`` naming the image. Typed keys given as metainfo are
    stored as data fields.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in TENSOR_FIELDS:
            value = _typed(name, value, sample_name(self))
        super().__setattr__(name, value)

    def set_metainfo(self, metainfo: dict) -> None:
        """Set metainfo; keys of :data:`TENSOR_FIELDS` become typed data
        fields."""
        plain = {k: v for k, v in metainfo.items() if k not in TENSOR_FIELDS}
        super().set_metainfo(plain)
        for key, value in metainfo.items():
            if key in TENSOR_FIELDS:
                setattr(self, key, value)


def stack_field(samples: Sequence[PoseDataSample], key: str,
                hint: str = '') -> torch.Tensor:
    """``torch.stack`` of data field ``key`` of every sample: (N, ...).

    Raises:
        KeyError: a sample lacks ``key`` (the message names its image and
            ends with ``hint``, what to do about it).
    """
    try:
        return torch.stack([getattr(s, key) for s in samples])
    except AttributeError:
        bad = next(s for s in samples if key not in s)
        raise KeyError(f'data sample of {sample_name(bad)} has no {key!r}'
                       + (f'; {hint}' if hint else '')) from None
