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

    MMEngine's test loop calls ``before_test_iter``, the model's
    ``test_step``, the evaluator's ``process`` at once, then
    ``after_test_iter``. This hook (the last ``before_test_iter`` to run)
    puts ``time.perf_counter()`` in the current message hub's runtime info
    under ``TEST_STEP_START``, after a CUDA synchronisation where CUDA is
    in use, and clears it after the iteration. ``ADDMetric.process`` reads
    it (:func:`~posessl.evaluation.metrics.add_metric.test_step_seconds`)
    and gives each sample of the batch an equal share of the step's wall
    time (moving the batch to the device, normalisation, the network,
    decoding; loading and cropping in the loader are not counted), which
    the BOP results CSV sums over the objects of one image.
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
