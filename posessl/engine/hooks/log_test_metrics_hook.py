"""``LogTestMetricsHook``: the test metrics in every visualisation backend
(MMEngine's ``LoggerHook`` sends them only to the text log)."""
from numbers import Real
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from posessl.registry import HOOKS

__all__ = ['LogTestMetricsHook', 'scalar_metrics']


def _scalar(value: Any) -> Optional[float]:
    """``value`` as a float if it is one number (not a bool), else None."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)):
        return None
    return float(value)


def scalar_metrics(metrics: Optional[Dict[str, Any]],
                   prefix: str = 'test/') -> Dict[str, float]:
    """The single-number entries of ``metrics``, keys under ``prefix``.

    Tables, strings and arrays are left out; NaN and inf are kept (a
    metric that failed should show as such).
    """
    out: Dict[str, float] = {}
    for key, value in (metrics or {}).items():
        number = _scalar(value)
        if number is not None:
            out[f'{prefix}{key}'] = number
    return out


@HOOKS.register_module()
class LogTestMetricsHook(Hook):
    """Send the test metrics to the visualizer, hence to all its backends.

    After the test epoch every single-number metric goes to
    ``runner.visualizer.add_scalars`` as ``test/<metric key>``, at the
    current training iteration, or step 0 for a run that did not train.
    """

    priority = 'BELOW_NORMAL'

    def after_test_epoch(self, runner,
                         metrics: Optional[Dict[str, Any]] = None) -> None:
        scalars = scalar_metrics(metrics)
        if not scalars:
            return
        train_loop = runner._train_loop
        step = 0 if train_loop is None or isinstance(train_loop, dict) \
            else runner.iter
        runner.visualizer.add_scalars(scalars, step=step)
