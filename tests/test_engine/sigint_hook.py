"""A test hook that sends this process SIGINT (Ctrl-C) after an iteration,
as a user pressing Ctrl-C during training would."""
import os
import signal

from mmengine.hooks import Hook

from posessl.registry import HOOKS


@HOOKS.register_module(force=True)
class SigintAtIterHook(Hook):
    """``os.kill(own pid, SIGINT)`` after iteration ``at`` (1-based)."""

    priority = 'NORMAL'  # before the InterruptHook (LOWEST) looks

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), signal.SIGINT)
