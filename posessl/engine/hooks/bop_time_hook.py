"""Marks the start of each test step, for the BOP CSV's per-image time."""
import time
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import MessageHub

from posessl.evaluation.metrics.add_metric import TEST_STEP_START
from posessl.registry import HOOKS


@HOOKS.register_module()
class BopTimeHook(Hook):
    """Records when each test step starts, for ``ADDMetric``'s ``time``.

    Runs last before each test iteration: puts ``time.perf_counter()``
    (after a CUDA synchronisation where CUDA is in use) in the current
    message hub's runtime info under ``TEST_STEP_START``, and clears it
    after the iteration, so the step's time leaves out data loading.
    """

    priority = 'LOWEST'

    def before_test_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None) -> None:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        MessageHub.get_current_instance().update_info(
            TEST_STEP_START, time.perf_counter())

    def after_test_iter(self, runner, batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs=None) -> None:
        MessageHub.get_current_instance().update_info(TEST_STEP_START, None)
