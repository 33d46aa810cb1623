"""Measures how long the model takes per test image, for the BOP CSV."""
import time
from typing import Any, Callable, Optional

import torch
from mmengine.hooks import Hook

from posessl.registry import HOOKS


@HOOKS.register_module()
class BopTimeHook(Hook):
    """Writes each test sample's share of its batch's time into its
    metainfo as ``time`` (seconds), which ``ADDMetric`` puts in the BOP
    results CSV (summed over the objects of one image there).

    The time of a batch is the wall time of the model's ``test_step`` on it
    (moving the batch to the device, normalisation, the network, decoding
    the poses; on a GPU up to a synchronisation after the step), divided by
    the number of samples in it. Reading and cropping the images in the
    loader is not counted: the loader's workers do it ahead of the step.

    The hook wraps ``runner.model.test_step`` for the duration of the test
    (MMEngine's test loop hands the step's outputs straight to the
    evaluator, so no hook runs between the two) and unwraps it after.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._model: Optional[Any] = None

    def before_test(self, runner) -> None:
        model = runner.model
        step: Callable = model.test_step

        def timed_test_step(data: Any) -> Any:
            start = time.perf_counter()
            outputs = step(data)
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                torch.cuda.synchronize()
            share = (time.perf_counter() - start) / max(len(outputs), 1)
            for sample in outputs:
                sample.set_metainfo(dict(time=share))
            return outputs

        model.test_step = timed_test_step
        self._model = model

    def after_test(self, runner) -> None:
        if self._model is not None:
            del self._model.test_step  # the class's method again
            self._model = None
