"""Ctrl-C during training: finish the iteration, save it, stop."""
import os
import os.path as osp
import signal
import sys
import threading
from typing import Any, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from posessl.engine.checkpoint_safety import ATOMIC_BACKEND
from posessl.errors import TrainingStopped
from posessl.registry import HOOKS


@HOOKS.register_module()
class InterruptHook(Hook):
    """Turn the first Ctrl-C (SIGINT) into a checkpoint and a clean stop.

    During training the first SIGINT only sets a flag; after the running
    iteration the hook saves ``<work_dir>/iter_<n>.pth`` (``n`` iterations
    done), points ``last_checkpoint`` at it (for ``--resume``) and raises
    :class:`TrainingStopped`. A second Ctrl-C raises ``KeyboardInterrupt``
    at once. An epoch-based loop resumed from such a checkpoint restarts
    the interrupted epoch. Each rank stops at its own signal.
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self._requested = False
        self._previous: Optional[Any] = None
        self._pid: Optional[int] = None

    def before_train(self, runner) -> None:
        self._requested = False
        if threading.current_thread() is threading.main_thread():
            self._pid = os.getpid()
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:  # a forked data-loader worker
            return
        if self._requested:
            self._restore()
            raise KeyboardInterrupt
        self._requested = True
        print('Ctrl-C: training stops after this iteration and saves a '
              'checkpoint (press Ctrl-C again to stop at once)',
              file=sys.stderr, flush=True)

    def _restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None, outputs=None) -> None:
        if not self._requested:
            return
        self._restore()
        done = runner.iter + 1
        filename = f'iter_{done}.pth'
        path = osp.join(runner.work_dir, filename)
        runner.save_checkpoint(
            runner.work_dir, filename, by_epoch=False,
            backend_args=dict(backend=ATOMIC_BACKEND))
        if is_main_process():
            with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(path)
        raise TrainingStopped(
            f'interrupted (Ctrl-C) after iteration {done} (epoch '
            f'{runner.epoch + 1}): saved {path}; continue with the same '
            'tools/train.py command and --resume')

    def after_train(self, runner) -> None:
        self._restore()
