"""Stops training at the first non-finite loss, before anything is saved."""
import math
import statistics
from typing import Dict, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from posessl.engine.checkpoint_safety import last_good_checkpoint
from posessl.errors import TrainingStopped
from posessl.registry import HOOKS


def _last_checkpoint_note(runner) -> str:
    """Which checkpoint holds the work so far, for a stop message."""
    last = last_good_checkpoint(runner.work_dir)
    if last is not None:
        return f'the last good checkpoint is {last}'
    return f'no checkpoint was saved in {runner.work_dir} yet'


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`TrainingStopped` at a NaN/inf loss or weight.

    Checks the loss terms (``loss*`` outputs) and the model's state after
    each training iteration, before the ``CheckpointHook``, and refuses to
    save non-finite weights, so the checkpoints on disk are the last good
    ones. Also warns once when the total loss exceeds ``divergence_factor``
    times its median over the first ``start_iters`` iterations.

    Args:
        start_iters: Iterations whose median loss is the reference.
        divergence_factor: The warning's multiple; ``None`` turns it off.

    Raises:
        ValueError: ``start_iters`` is below 1.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, start_iters: int = 20,
                 divergence_factor: Optional[float] = 100.0) -> None:
        if start_iters < 1:
            raise ValueError(f'NonFiniteLossHook: start_iters must be >= 1, '
                             f'got {start_iters}')
        self.start_iters = start_iters
        self.divergence_factor = divergence_factor
        self._start: List[float] = []
        self._warned = False

    def before_train(self, runner) -> None:
        self._start, self._warned = [], False

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None, outputs=None) -> None:
        losses = {key: _scalar(value) for key, value in (outputs or {}).items()
                  if 'loss' in key}
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        terms = ', '.join(f'{k}={v:.4g}' for k, v in losses.items())
        if any(not math.isfinite(v) for v in losses.values()):
            raise TrainingStopped(
                f'training stopped at {where}: the loss is not finite '
                f'({terms}); nothing was saved for it and '
                f'{_last_checkpoint_note(runner)}. Lower the learning rate '
                '(optim_wrapper.optimizer.lr) or clip the gradients '
                '(optim_wrapper.clip_grad=dict(max_norm=...)).')
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        bad = _non_finite(model.state_dict())
        if bad:
            raise TrainingStopped(
                f'training stopped at {where}: the update made {len(bad)} '
                f'weight tensors non-finite (e.g. {bad[0]}; loss {terms}); '
                f'nothing was saved for it and {_last_checkpoint_note(runner)}'
                '. Lower the learning rate or clip the gradients.')
        self._watch_divergence(runner, losses, where)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = _non_finite(checkpoint.get('state_dict', {}))
        if bad:
            raise TrainingStopped(
                f'refused to save a checkpoint at iteration {runner.iter}: '
                f'{len(bad)} weight tensors are not finite (e.g. {bad[0]}); '
                f'{_last_checkpoint_note(runner)}.')

    def _watch_divergence(self, runner, losses: Dict[str, float],
                          where: str) -> None:
        if self.divergence_factor is None or self._warned or not losses:
            return
        total = losses.get('loss', sum(losses.values()))
        if len(self._start) < self.start_iters:
            self._start.append(total)
            return
        reference = abs(statistics.median(self._start))
        if reference > 0 and total > self.divergence_factor * reference:
            self._warned = True
            runner.logger.warning(
                f'{where}: the loss {total:.4g} is over '
                f'{self.divergence_factor:g} times its median over the '
                f'first {self.start_iters} iterations ({reference:.4g}): '
                'training may be diverging (learning rate too high?)')


def _scalar(value) -> float:
    """A logged loss as a float (detached first: the summed ``loss`` that
    MMEngine's ``parse_losses`` logs still carries its graph)."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
    return float(value)


def _non_finite(state: Dict[str, torch.Tensor]) -> List[str]:
    """Names of the floating-point tensors holding a NaN or an inf."""
    return [name for name, value in state.items()
            if torch.is_tensor(value) and value.is_floating_point()
            and not bool(torch.isfinite(value).all())]
