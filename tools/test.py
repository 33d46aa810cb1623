"""Test a trained posessl model and print its ADD(-S) table.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.csv]
        [--show-dir DIR] [--cfg-options key=value ...] [--launcher ...]

``--out`` writes the BOP results CSV (``scene_id,im_id,obj_id,score,R,t,time``)
that the BOP toolkit scores unchanged; ``--show-dir`` saves pose overlays.
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
    parser = argparse.ArgumentParser(description='Test a posessl model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='write predictions as a BOP results CSV to this file')
    parser.add_argument(
        '--show-dir',
        help='save images with GT (green) and predicted (red) poses here, '
        'relative to the work dir\'s timestamped run folder')
    add_runner_arguments(parser)
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace):
    cfg = load_tool_config(args)
    check_required_keys(cfg, ('model', 'test_dataloader', 'test_evaluator'),
                        'testing')
    check_checkpoint(args.checkpoint, 'checkpoint')
    cfg.load_from = args.checkpoint
    if args.out is not None:
        if not args.out.endswith('.csv'):
            raise UserError(f'--out {args.out!r}: the BOP results file must '
                            'end in .csv (<method>_<dataset>-<split>.csv)')
        evaluators = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, list) else [cfg.test_evaluator]
        for evaluator in evaluators:
            if evaluator.get('type') in ('ADDMetric', 'posessl.ADDMetric'):
                evaluator['csv_file'] = args.out
    if args.show_dir is not None:
        hooks = cfg.setdefault('default_hooks', {})
        visualization = hooks.get('visualization') or {}
        visualization.update(
            type='PoseVisualizationHook',
            draw=True,
            test_out_dir=args.show_dir)
        hooks['visualization'] = visualization
    check_registered_types(cfg)
    check_data_roots(cfg)
    configure_device(cfg, args.launcher, amp=False)
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        cfg = build_config(args)
        runner = Runner.from_cfg(cfg)
        runner.test()
    except (UserError, CheckpointError) as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
