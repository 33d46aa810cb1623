"""Test a trained posessl model and print its ADD(-S) table.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out results.csv | predictions.pkl] [--show-dir DIR]
        [--cfg-options key=value ...] [--launcher ...] [--debug]

``--out`` with a ``.csv`` name writes the BOP results CSV
(``scene_id,im_id,obj_id,score,R,t,time``) that the BOP toolkit scores
unchanged; with a ``.pkl`` name it dumps the predictions (a list of dicts,
one per frame, with ``mmengine.dump``). ``--show-dir`` saves pose overlays.
The checkpoint's weights must be the model's: another model's checkpoint
stops with one line instead of scoring a randomly initialised part.
"""
import argparse

from mmengine.runner import Runner

from posessl.engine import enable_checkpoint_safety
from posessl.engine.cli import (
    UserError,
    add_runner_arguments,
    check_checkpoint,
    check_data_roots,
    check_registered_types,
    check_required_keys,
    configure_device,
    load_tool_config,
    run_tool,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a posessl model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='write the predictions to this file: a BOP results CSV '
        '(.csv) or a pickle of the per-frame predictions (.pkl)')
    parser.add_argument(
        '--show-dir',
        help='save images with GT (green) and predicted (red) poses here, '
        'relative to the work dir\'s timestamped run folder')
    add_runner_arguments(parser)
    return parser.parse_args(argv)


def _add_output(cfg, out: str) -> None:
    """Route ``--out`` to the ADDMetric's CSV or to a ``DumpResults``."""
    evaluators = list(cfg.test_evaluator) if isinstance(
        cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    if out.endswith('.pkl'):
        evaluators.append(dict(type='DumpResults', out_file_path=out))
    elif out.endswith('.csv'):
        metrics = [e for e in evaluators
                   if e.get('type') in ('ADDMetric', 'posessl.ADDMetric')]
        if not metrics:
            raise UserError(f'--out {out!r}: the BOP CSV is written by '
                            'ADDMetric, and test_evaluator has none; use '
                            'a .pkl name to dump the predictions')
        for metric in metrics:
            metric['csv_file'] = out
    else:
        raise UserError(f'--out {out!r}: give a .csv name (BOP results, '
                        '<method>_<dataset>-<split>.csv) or a .pkl name '
                        '(the predictions)')
    cfg.test_evaluator = evaluators


def build_config(args: argparse.Namespace):
    cfg = load_tool_config(args)
    check_required_keys(cfg, ('model', 'test_dataloader', 'test_evaluator'),
                        'testing')
    check_checkpoint(args.checkpoint, 'checkpoint')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.out is not None:
        _add_output(cfg, args.out)
    if args.show_dir is not None:
        hooks = cfg.setdefault('default_hooks', {})
        visualization = hooks.get('visualization') or {}
        visualization.update(
            type='PoseVisualizationHook',
            draw=True,
            test_out_dir=args.show_dir)
        hooks['visualization'] = visualization
    check_registered_types(cfg)
    check_data_roots(cfg, ('test_dataloader', ))
    configure_device(cfg, args.launcher, amp=False)
    return cfg


def test(args: argparse.Namespace) -> None:
    enable_checkpoint_safety()
    runner = Runner.from_cfg(build_config(args))
    runner.test()


def main(argv=None) -> None:
    args = parse_args(argv)
    run_tool(lambda: test(args), debug=args.debug)


if __name__ == '__main__':
    main()
