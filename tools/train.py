"""Train a posessl model with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm]

Runs on a GPU when there is one and on the CPU otherwise; several GPUs (or CPU
processes, with gloo) through ``tools/dist_train.sh`` / ``torchrun``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.runner import Runner

from posessl.engine.checkpoint_safety import CheckpointError
from posessl.engine.runner_setup import (
    DictAction,
    UserError,
    check_checkpoint,
    check_data_roots,
    check_registered_types,
    check_required_keys,
    configure_device,
    load_config,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a posessl model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, with no value, from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (CUDA only)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.backbone.depth=34')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args: argparse.Namespace):
    """Load the config and apply the command line to it."""
    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        check_checkpoint(args.resume, '--resume checkpoint')
        cfg.resume = True
        cfg.load_from = args.resume
    else:
        check_checkpoint(cfg.get('load_from'), 'load_from checkpoint')
    check_required_keys(cfg, ('model', 'train_dataloader', 'train_cfg',
                                   'optim_wrapper'), 'training')
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
