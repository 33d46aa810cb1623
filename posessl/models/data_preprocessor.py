"""Data preprocessor: stack, float, colour jitter, normalise, flatten
triplets."""
import math
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import get_rank
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import BaseDataElement

from posessl.registry import MODELS

__all__ = ['PoseDataPreprocessor', 'colour_jitter']

Range = Union[float, Sequence[float]]

#: ITU-R BT.601 luma weights (RGB), as ``PhotometricAug`` uses.
_LUMA = (0.299, 0.587, 0.114)


def _range(name: str, value: Range, centre: float) -> Tuple[float, float]:
    """``x`` -> ``(centre - x, centre + x)``; a pair is taken as is."""
    if isinstance(value, (int, float)):
        lo, hi = centre - float(value), centre + float(value)
    else:
        lo, hi = (float(v) for v in value)
    factor = centre == 1.0
    if lo > hi or (factor and lo < 0):
        rule = '0 <= lo <= hi' if factor else 'lo <= hi'
        raise ValueError(f'PoseDataPreprocessor: photometric {name} range '
                         f'{(lo, hi)} must satisfy {rule}')
    return lo, hi


def colour_jitter(x: torch.Tensor, brightness: torch.Tensor,
                  contrast: torch.Tensor, saturation: torch.Tensor,
                  hue: torch.Tensor) -> torch.Tensor:
    """Per-image colour jitter of a float RGB batch on the 0-255 scale.

    In this order, each clipped to [0, 255]: brightness ``x b``; contrast
    ``c x + (1 - c) m`` with ``m`` the image's mean grey level; saturation
    ``s x + (1 - s) g`` with ``g`` each pixel's grey level (BT.601 luma);
    hue, a rotation of the colour about the grey axis by ``2 pi h`` (a
    linear stand-in for an HSV hue shift of ``h`` turns). Factors 1, 1, 1
    and hue 0 return ``x`` exactly.

    Args:
        x: (N, 3, H, W) float.
        brightness, contrast, saturation, hue: (N,) factors and turns.
    """
    def col(v: torch.Tensor) -> torch.Tensor:
        return v.to(x.dtype).view(-1, 1, 1, 1)

    luma = torch.tensor(_LUMA, dtype=x.dtype, device=x.device)
    luma = luma.view(1, 3, 1, 1)
    b, c, s = col(brightness), col(contrast), col(saturation)
    x = (x * b).clamp(0, 255)
    mean = (x * luma).sum(1, keepdim=True).mean((2, 3), keepdim=True)
    x = (x * c + mean * (1 - c)).clamp(0, 255)
    grey = (x * luma).sum(1, keepdim=True)
    x = (x * s + grey * (1 - s)).clamp(0, 255)
    # Rodrigues' rotation about k = (1, 1, 1) / sqrt(3): at angle 0 the
    # matrix is the identity exactly (cos 0 = 1, sin 0 = 0)
    angle = 2 * math.pi * hue.to(x.dtype)
    cos, sin = angle.cos().view(-1, 1, 1), angle.sin().view(-1, 1, 1)
    k = torch.full((3, ), 1 / math.sqrt(3), dtype=x.dtype, device=x.device)
    cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0],
                          [-1.0, 1.0, 0.0]], dtype=x.dtype,
                         device=x.device) / math.sqrt(3)
    eye = torch.eye(3, dtype=x.dtype, device=x.device)
    rot = cos * eye + sin * cross + (1 - cos) * torch.outer(k, k)
    return torch.einsum('nij,njhw->nihw', rot, x).clamp(0, 255)


def _name(samples: Any, index: int) -> str:
    try:
        path = samples[index].get('img_path', None)
    except (TypeError, IndexError, AttributeError):
        path = None
    return f'sample {index}' + (f' ({path})' if path else '')


@MODELS.register_module()
class PoseDataPreprocessor(BaseDataPreprocessor):
    """Turn a collated batch into normalised float input for the models.

    ``inputs`` may be a list of (C, H, W) or (3, C, H, W) tensors (pseudo
    collate) or one stacked tensor; uint8 RGB on the 0-255 scale. The batch
    is moved to the model's device, converted to float32, colour-jittered
    in training when ``photometric`` is set, and normalised as
    ``(x - mean) / std``. A triplet batch (B, 3, C, H, W) from
    ``TripletDataset`` becomes (3B, C, H, W) with rows ``[0:B]`` anchors,
    ``[B:2B]`` positives and ``[2B:3B]`` negatives. On CUDA the result is
    channels-last (faster convolutions, also under autocast). The data
    samples' tensors (``PoseDataSample``'s typed fields) move to the same
    device with one copy per field (:meth:`move_samples`).

    Args:
        mean, std: per-channel RGB statistics on the 0-255 scale (ImageNet's
            by default); ``None`` skips normalisation.
        channels_last: use ``torch.channels_last`` for CUDA tensors.
        non_blocking: asynchronous host-to-device copies.
        photometric: Colour jitter on the device, in training only, before
            normalisation (:func:`colour_jitter`), instead of the
            pipeline's ``PhotometricAug``: ``dict(prob=0.8,
            brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02,
            seed=None)`` (any subset); ranges as ``PhotometricAug``'s
            (``x`` means ``(1 - x, 1 + x)``, for the hue ``(-x, x)``
            turns); each image is jittered with probability ``prob``.
            The draws come from a ``torch.Generator`` on the batch's
            device seeded with ``seed + rank`` (``seed=None``: a number
            drawn from torch's global generator at the first batch, so
            ``randomness.seed`` fixes it).
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = (123.675, 116.28, 103.53),
                 std: Optional[Sequence[float]] = (58.395, 57.12, 57.375),
                 channels_last: bool = True,
                 non_blocking: bool = False,
                 photometric: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(non_blocking)
        self.photometric = self._photometric(photometric)
        self._generator: Optional[torch.Generator] = None
        self._generator_device: Optional[torch.device] = None
        if (mean is None) != (std is None):
            raise ValueError('PoseDataPreprocessor: give both mean and std, '
                             'or neither')
        self._normalize = mean is not None
        if mean is not None:
            if len(mean) != len(std):
                raise ValueError('PoseDataPreprocessor: mean and std need '
                                 f'the same length, got {len(mean)} and '
                                 f'{len(std)}')
            if any(s <= 0 for s in std):
                raise ValueError(f'PoseDataPreprocessor: std must be '
                                 f'positive, got {tuple(std)}')
            self.register_buffer(
                'mean', torch.tensor(mean).view(-1, 1, 1), persistent=False)
            self.register_buffer(
                'std', torch.tensor(std).view(-1, 1, 1), persistent=False)
        self.channels_last = channels_last

    @staticmethod
    def _photometric(cfg: Optional[Dict[str, Any]]
                     ) -> Optional[Dict[str, Any]]:
        """Checked colour-jitter settings (None: no jitter)."""
        if cfg is None:
            return None
        known = {'prob', 'brightness', 'contrast', 'saturation', 'hue',
                 'seed'}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f'PoseDataPreprocessor: unknown photometric '
                             f'settings {sorted(unknown)} (known: '
                             f'{sorted(known)})')
        prob = float(cfg.get('prob', 0.8))
        if not 0 <= prob <= 1:
            raise ValueError(f'PoseDataPreprocessor: photometric prob must '
                             f'be in [0, 1], got {prob}')
        out = dict(prob=prob, seed=cfg.get('seed'))
        for name, default in (('brightness', 0.2), ('contrast', 0.2),
                              ('saturation', 0.2)):
            out[name] = _range(name, cfg.get(name, default), 1.0)
        out['hue'] = _range('hue', cfg.get('hue', 0.02), 0.0)
        if max(abs(v) for v in out['hue']) > 0.5:
            raise ValueError('PoseDataPreprocessor: photometric hue must be '
                             f"within [-0.5, 0.5] turns, got {out['hue']}")
        return out

    def _jitter(self, x: torch.Tensor) -> torch.Tensor:
        """:func:`colour_jitter` with factors drawn per image."""
        cfg = self.photometric
        if self._generator is None or self._generator_device != x.device:
            seed = cfg['seed']
            if seed is None:
                seed = int(torch.randint(2**62, ()).item())
            self._generator = torch.Generator(device=x.device)
            self._generator_device = x.device
            self._generator.manual_seed(int(seed) + get_rank())
        u = torch.rand(5, len(x), generator=self._generator,
                       device=x.device, dtype=torch.float64)
        apply = u[0] < cfg['prob']
        factors = []
        for row, (name, identity) in enumerate(
                (('brightness', 1.0), ('contrast', 1.0),
                 ('saturation', 1.0), ('hue', 0.0)), start=1):
            lo, hi = cfg[name]
            value = lo + (hi - lo) * u[row]
            factors.append(torch.where(apply, value,
                                       torch.full_like(value, identity)))
        return colour_jitter(x, *factors)

    def _stack(self, inputs: Any, samples: Any) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor):
            return inputs
        if not isinstance(inputs, (list, tuple)) or not inputs:
            raise TypeError('PoseDataPreprocessor: inputs must be a tensor '
                            'or a non-empty list of tensors, got '
                            f'{type(inputs).__name__}')
        shape = inputs[0].shape
        for i, x in enumerate(inputs):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f'PoseDataPreprocessor: input of '
                                f'{_name(samples, i)} is a '
                                f'{type(x).__name__}, not a tensor')
            if x.shape != shape:
                raise ValueError(
                    f'PoseDataPreprocessor: input of {_name(samples, i)} has '
                    f'shape {tuple(x.shape)} but {_name(samples, 0)} has '
                    f'{tuple(shape)}; every crop of a batch needs the same '
                    'size (check the crop out_size)')
        return torch.stack(list(inputs))

    def move_samples(self, samples: Any) -> Any:
        """Move the tensors of a list of data samples to the device, one
        copy per field: each field is stacked on the host, copied, and the
        samples get views of the copy (in place). Fields that not every
        sample has, or of differing shapes, are moved sample by sample;
        anything else goes through ``cast_data``."""
        if (not isinstance(samples, (list, tuple)) or not samples
                or not all(isinstance(s, BaseDataElement) for s in samples)):
            return self.cast_data(samples)
        done = set()
        for key in samples[0].keys():
            values = [s.get(key, None) for s in samples]
            if not all(isinstance(v, torch.Tensor) for v in values):
                continue
            done.add(key)
            if all(v.device == self.device for v in values):
                continue
            if len({v.shape for v in values}) == 1:
                moved = torch.stack(values).to(
                    self.device, non_blocking=self._non_blocking)
                for sample, row in zip(samples, moved.unbind(0)):
                    sample.set_field(row, key)
            else:
                for sample, value in zip(samples, values):
                    sample.set_field(value.to(self.device), key)
        for sample in samples:  # fields only some samples have
            for key in set(sample.keys()) - done:
                value = sample.get(key)
                if isinstance(value, torch.Tensor):
                    sample.set_field(value.to(self.device), key)
        return list(samples)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Returns ``dict(inputs=(N, C, H, W) float, data_samples=...)``;
        the data samples' tensors are on the model's device."""
        samples = self.move_samples(data.get('data_samples', None))
        x = self._stack(self.cast_data(data['inputs']), samples)
        if x.dim() == 5:
            if x.shape[1] != 3:
                raise ValueError(
                    'PoseDataPreprocessor: a 5-D batch must be triplets '
                    f'(B, 3, C, H, W), got {tuple(x.shape)}')
            x = x.transpose(0, 1).reshape(-1, *x.shape[2:])
        elif x.dim() != 4:
            raise ValueError('PoseDataPreprocessor: inputs must be (C, H, W) '
                             'images or (3, C, H, W) triplets, got a batch '
                             f'of shape {tuple(x.shape)}')
        x = x.float()
        if training and self.photometric is not None:
            x = self._jitter(x)
        if self._normalize:
            if x.shape[1] != self.mean.shape[0]:
                raise ValueError(
                    f'PoseDataPreprocessor: inputs have {x.shape[1]} '
                    f'channels but mean/std have {self.mean.shape[0]}; '
                    'inputs must be (C, H, W), channels first')
            x = (x - self.mean) / self.std
        if self.channels_last and x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return dict(inputs=x, data_samples=samples)
