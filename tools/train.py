"""Train a posessl model with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--no-validate] [--cfg-options key=value ...]
        [--launcher none|pytorch|slurm] [--debug]

Runs on a GPU when there is one and on the CPU otherwise; several GPUs (or CPU
processes, with gloo) through ``tools/dist_train.sh`` / ``torchrun``.
Training stops with one line at a non-finite loss (nothing bad is saved);
Ctrl-C saves the current iteration, which ``--resume`` continues from. A
checkpoint to resume or load must fit the model (names, shapes, finite
values). One run at a time holds the work dir (``<work_dir>/.posessl.lock``;
a lock left by a run that is gone is taken over).
"""
import argparse
import contextlib

from mmengine.runner import Runner

from posessl.engine import (
    enable_checkpoint_safety,
    last_good_checkpoint,
)
from posessl.engine.cli import (
    add_runner_arguments,
    check_checkpoint,
    check_data_roots,
    check_registered_types,
    check_required_keys,
    check_resumable,
    configure_device,
    is_first_process,
    load_tool_config,
    make_work_dir,
    run_tool,
)
from posessl.engine.hooks.skipped_samples_hook import REASONS_KEY, TOTAL_KEY
from posessl.engine.work_dir_lock import WorkDirLock
from posessl.errors import TrainingStopped, UserError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a posessl model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, with no value, from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision: on a GPU bf16 where supported, else fp16; '
        'on a CPU with native bf16 (AVX512-BF16, AMX) bf16 autocast')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the total batch size over the '
        "config's auto_scale_lr.base_batch_size")
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not validate during training (val_dataloader, val_cfg and '
        'val_evaluator are dropped)')
    add_runner_arguments(parser)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    """Load the config and apply the command line to it."""
    cfg = load_tool_config(args)
    check_required_keys(
        cfg, ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper'),
        'training')
    if args.resume == 'auto':
        check_resumable(cfg.work_dir)
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        check_checkpoint(args.resume, '--resume checkpoint')
        cfg.resume = True
        cfg.load_from = args.resume
    else:
        check_checkpoint(cfg.get('load_from'), 'load_from checkpoint')
    if args.auto_scale_lr:
        scale = cfg.get('auto_scale_lr')
        if not scale or 'base_batch_size' not in scale:
            raise UserError(
                f'--auto-scale-lr: config {args.config!r} defines no '
                'auto_scale_lr = dict(base_batch_size=N) (the total batch '
                'size its learning rate was tuned for)')
        scale['enable'] = True
    if args.no_validate:
        cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    check_registered_types(cfg)
    check_data_roots(cfg, ('train_dataloader', ) if args.no_validate else
                     ('train_dataloader', 'val_dataloader'))
    configure_device(cfg, args.launcher, args.amp)
    return cfg


def train(args: argparse.Namespace) -> None:
    """Build the Runner and train, holding the work dir (one run at a
    time); Ctrl-C ends with one line. Samples that turn out unreadable are
    skipped (in any loader process) and totalled at the end."""
    enable_checkpoint_safety()
    cfg = build_config(args)
    make_work_dir(cfg.work_dir)
    lock = WorkDirLock(cfg.work_dir) if is_first_process() else \
        contextlib.nullcontext()
    with lock:
        run(cfg)


def run(cfg) -> None:
    """Train ``cfg`` in its (held) work dir."""
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
        report_skipped(runner)
    except KeyboardInterrupt:  # outside the loop's iterations, or twice
        latest = last_good_checkpoint(cfg.work_dir)
        saved = f'--resume continues from {latest}' if latest else \
            'no checkpoint was saved yet'
        raise TrainingStopped(
            f'interrupted (Ctrl-C) during iteration {runner.iter + 1}; '
            f'{saved}') from None


def report_skipped(runner: Runner) -> None:
    """One warning with the total of skipped samples and the first reasons
    that ``SkippedSamplesHook`` kept in the message hub (a resumed run keeps
    counting), or nothing when every sample could be read."""
    total = int(runner.message_hub.get_info(TOTAL_KEY, 0) or 0)
    if total:
        reasons = list(runner.message_hub.get_info(REASONS_KEY, []))
        more = '; ...' if total > len(reasons) else ''
        runner.logger.warning(
            f'{total} training samples were skipped as unreadable (each '
            f"named in a warning of the log): {'; '.join(reasons)}{more}")


def main(argv=None) -> None:
    args = parse_args(argv)
    run_tool(lambda: train(args), debug=args.debug)


if __name__ == '__main__':
    main()
