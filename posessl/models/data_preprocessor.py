"""Data preprocessor: stack, float, normalise, flatten triplets."""
from typing import Any, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import BaseDataElement

from posessl.registry import MODELS

__all__ = ['PoseDataPreprocessor']


def _name(samples: Any, index: int) -> str:
    """``sample i (img_path)`` for error messages."""
    try:
        path = samples[index].get('img_path', None)
    except (TypeError, IndexError, AttributeError):
        path = None
    return f'sample {index}' + (f' ({path})' if path else '')


@MODELS.register_module()
class PoseDataPreprocessor(BaseDataPreprocessor):
    """Stack, normalise and move a collated batch to the model's device.

    ``inputs``: a list of uint8 RGB (C, H, W) images or (3, C, H, W)
    triplets, or one stacked tensor, 0-255. A triplet batch (B, 3, C, H, W)
    becomes (3B, C, H, W): anchors, then positives, then negatives.

    Args:
        mean, std: per-channel RGB statistics on the 0-255 scale (ImageNet's
            by default); ``None`` skips normalisation.
        channels_last: use ``torch.channels_last`` for CUDA tensors.
        non_blocking: asynchronous host-to-device copies.

    Raises:
        ValueError: mean without std (or the reverse), differing lengths, a
            non-positive std.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = (123.675, 116.28, 103.53),
                 std: Optional[Sequence[float]] = (58.395, 57.12, 57.375),
                 channels_last: bool = True,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
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
        """Move a list of data samples' tensors to the device in place, one
        copy per field where every sample has it with one shape; anything
        but such a list goes through ``cast_data``."""
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
        """``dict(inputs=(N, C, H, W) float32, data_samples=...)`` on the
        model's device, channels-last on CUDA.

        Raises:
            TypeError, ValueError: inputs that are not same-sized images or
                triplets with the normaliser's channel count.
        """
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
