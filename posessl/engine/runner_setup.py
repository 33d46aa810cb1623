"""Helpers around MMEngine's Runner that are not command-line glue: the
mixed-precision dtype, a shorter iteration schedule, and the metrics a run
logged (used by the tools, the benchmarks and the tests)."""
import glob
import json
import os.path as osp
from typing import List

import torch

__all__ = [
    'amp_dtype_name', 'iteration_schedule_options', 'last_logged_metrics'
]


def amp_dtype_name() -> str:
    """Mixed-precision dtype on this GPU: ``'bfloat16'`` where supported,
    else ``'float16'``."""
    return 'bfloat16' if torch.cuda.is_bf16_supported() else 'float16'


def iteration_schedule_options(iters: int) -> List[str]:
    """``--cfg-options`` that shorten or stretch the pose configs'
    iteration schedule (linear warm-up over the first tenth, then cosine)
    to ``iters`` steps, checkpointing at the end."""
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
    """The metrics MMEngine's LoggerHook dumped for the latest run in
    ``work_dir`` (``<work_dir>/<timestamp>/<timestamp>.json``); ``{}``
    where there is none."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    if not logs:
        return {}
    with open(logs[-1]) as f:
        return json.loads(f.read().strip().splitlines()[-1])
