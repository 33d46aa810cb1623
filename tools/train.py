"""Train a posessl model with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm]

Runs on a GPU when there is one and on the CPU otherwise; several GPUs (or CPU
processes, with gloo) through ``tools/dist_train.sh`` / ``torchrun``.
"""
import argparse
import sys

from mmengine.runner import Runner

from posessl.engine.checkpoint_safety import CheckpointError
from posessl.engine.runner_setup import (
    UserError,
    add_runner_arguments,
    check_checkpoint,
    check_data_roots,
    check_registered_types,
    check_required_keys,
    configure_device,
    load_tool_config,
)


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
        '--amp', action='store_true', help='mixed precision (CUDA only)')
    add_runner_arguments(parser)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    """Load the config and apply the command line to it."""
    cfg = load_tool_config(args)
    check_required_keys(
        cfg, ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper'),
        'training')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        check_checkpoint(args.resume, '--resume checkpoint')
        cfg.resume = True
        cfg.load_from = args.resume
    else:
        check_checkpoint(cfg.get('load_from'), 'load_from checkpoint')
    check_registered_types(cfg)
    check_data_roots(cfg)
    configure_device(cfg, args.launcher, args.amp)
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        cfg = build_config(args)
        runner = Runner.from_cfg(cfg)
        runner.train()
    except (UserError, CheckpointError) as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
