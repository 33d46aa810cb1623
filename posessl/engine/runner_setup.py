"""Runner helpers for the tools and benchmarks: a Runner that keeps its log
off the terminal, the mixed-precision dtype, a rescaled schedule and the
metrics a run logged."""
import contextlib
import glob
import io
import json
import logging
import os.path as osp
from typing import List, Optional

import torch
from mmengine.logging import MMLogger
from mmengine.runner import Runner

__all__ = [
    'amp_dtype_name', 'iteration_schedule_options', 'last_logged_metrics',
    'FileLogRunner'
]


class FileLogRunner(Runner):
    """MMEngine's Runner with only warnings and errors on the terminal;
    INFO records go to :attr:`log_file` alone."""

    def build_logger(self, log_level: str = 'INFO',
                     log_file: Optional[str] = None,
                     **kwargs) -> MMLogger:
        """MMEngine's logger, its terminal handler raised to WARNING."""
        logger = super().build_logger(log_level, log_file, **kwargs)
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler:  # not a FileHandler
                handler.setLevel(max(handler.level, logging.WARNING))
        return logger

    def load_checkpoint(self, filename: str, *args, **kwargs) -> dict:
        """MMEngine's, with the line it prints on loading sent to the log."""
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                return super().load_checkpoint(filename, *args, **kwargs)
        finally:
            if printed.getvalue().strip():
                self.logger.info(printed.getvalue().strip())

    @property
    def log_file(self) -> str:
        """The full log: ``<work_dir>/<timestamp>/<timestamp>.log``."""
        return osp.join(self.log_dir, f'{self.timestamp}.log')


def amp_dtype_name() -> str:
    """Mixed-precision dtype on this GPU: ``'bfloat16'`` where supported,
    else ``'float16'``."""
    return 'bfloat16' if torch.cuda.is_bf16_supported() else 'float16'


def iteration_schedule_options(iters: int) -> List[str]:
    """``--cfg-options`` that rescale the pose configs' schedule (linear
    warm-up over the first tenth, then cosine) to ``iters`` steps,
    checkpointing at the end."""
    warmup = max(1, iters // 10)
    return [
        f'train_cfg.max_iters={iters}',
        f'param_scheduler.0.end={warmup}',
        f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.T_max={iters - warmup}',
        f'param_scheduler.1.end={iters}',
        f'default_hooks.checkpoint.interval={iters}',
    ]


def last_logged_metrics(work_dir: str) -> dict:
    """The last metrics line of the latest run's
    ``<work_dir>/<timestamp>/<timestamp>.json``; ``{}`` if none."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    if not logs:
        return {}
    with open(logs[-1]) as f:
        return json.loads(f.read().strip().splitlines()[-1])
