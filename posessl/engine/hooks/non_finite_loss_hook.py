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


def last_checkpoint_note(runner) -> str:
    """Which checkpoint holds the work so far, for a stop message: the one
    ``last_checkpoint`` in the work dir names (a resumed run's message hub
    still names the checkpoints of the run it was resumed from)."""
    last = last_good_checkpoint(runner.work_dir)
    if last is not None:
        return f'the last good checkpoint is {last}'
    return f'no checkpoint was saved in {runner.work_dir} yet'


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`TrainingStopped` at a NaN/inf loss or weight.

    After each training iteration the loss terms (the ``loss*`` entries of
    the step's outputs) and the model's floating-point state are checked; at
    the first non-finite value training stops with one line naming the
    iteration and the loss terms. The hook runs before the
    ``CheckpointHook`` (which also deletes old checkpoints before it saves),
    and refuses any checkpoint with non-finite weights, so the checkpoints on
    disk are always the last good ones.

    It also warns once when the total loss climbs above
    ``divergence_factor`` times its median over the first ``start_iters``
    iterations: training that diverges without (yet) overflowing.

    Args:
        start_iters: Iterations whose median loss is the reference.
        divergence_factor: Warn when the loss exceeds this multiple of the
            reference; ``None`` turns the warning off.
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
                f'{last_checkpoint_note(runner)}. Lower the learning rate '
                '(optim_wrapper.optimizer.lr) or clip the gradients '
                '(optim_wrapper.clip_grad=dict(max_norm=...)).')
        bad = _non_finite(_model_state(runner))
        if bad:
            raise TrainingStopped(
                f'training stopped at {where}: the update made {len(bad)} '
                f'weight tensors non-finite (e.g. {bad[0]}; loss {terms}); '
                f'nothing was saved for it and {last_checkpoint_note(runner)}'
                '. Lower the learning rate or clip the gradients.')
        self._watch_divergence(runner, losses, where)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = _non_finite(checkpoint.get('state_dict', {}))
        if bad:
            raise TrainingStopped(
                f'refused to save a checkpoint at iteration {runner.iter}: '
                f'{len(bad)} weight tensors are not finite (e.g. {bad[0]}); '
                f'{last_checkpoint_note(runner)}.')

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


def _model_state(runner) -> Dict[str, torch.Tensor]:
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    return model.state_dict()


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
