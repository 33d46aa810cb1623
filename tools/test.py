"""Test a trained posessl model and print its ADD(-S) table.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR]
        [--out results.csv | predictions.pkl] [--show-dir DIR]
        [--cfg-options key=value ...] [--launcher ...] [--debug]

Prints the metric's table (ADDMetric: one row per object) and where the
full log went (``<work_dir>/<timestamp>/<timestamp>.log``: the environment,
the config and the progress lines; warnings still reach the terminal).
``--out`` with a ``.csv`` name writes the BOP results CSV
(``scene_id,im_id,obj_id,score,R,t,time``) that the BOP toolkit scores
unchanged; with a ``.pkl`` name it dumps the predictions (a list of dicts,
one per frame, with ``mmengine.dump``). ``--show-dir DIR`` saves pose
overlays in DIR (relative to the current folder). The checkpoint must fit
the model (names, shapes, finite values): another model's checkpoint stops
with one line instead of scoring a randomly initialised part.

Testing does not lock the work dir: testing a checkpoint of a run that is
still training, in that run's work dir, is fine (each test run writes its
own timestamped folder).
"""
import argparse
import os.path as osp
from typing import Dict

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
    make_work_dir,
    run_tool,
)
from posessl.engine.runner_setup import FileLogRunner


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
        help='save images with GT (green) and predicted (red) poses in '
        'this folder')
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
        # absolute: the hook puts a relative folder in the run folder
        visualization.update(
            type='PoseVisualizationHook',
            draw=True,
            test_out_dir=osp.abspath(args.show_dir))
        hooks['visualization'] = visualization
    check_registered_types(cfg)
    check_data_roots(cfg, ('test_dataloader', ))
    configure_device(cfg, args.launcher, amp=False)
    return cfg


def test(args: argparse.Namespace) -> None:
    """Run the test loop with the log in the work dir; print the result."""
    enable_checkpoint_safety()
    cfg = build_config(args)
    make_work_dir(cfg.work_dir)
    runner = FileLogRunner.from_cfg(cfg)
    metrics = runner.test()
    if runner.rank == 0:
        print(report(runner, metrics, args))


def report(runner: FileLogRunner, metrics: Dict[str, float],
           args: argparse.Namespace) -> str:
    """The metrics' tables (or their values), the files written and the
    log file, as printed."""
    tables = [m.table for m in runner.test_evaluator.metrics
              if getattr(m, 'table', None)]
    lines = tables or [f'{key}: {value}' for key, value in metrics.items()]
    if args.out is not None:
        lines.append(f'predictions written to {args.out}')
    if args.show_dir is not None:
        lines.append(f'pose overlays written to {args.show_dir}')
    lines.append(f'full log (environment, config, progress): '
                 f'{runner.log_file}')
    return '\n'.join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    run_tool(lambda: test(args), debug=args.debug)


if __name__ == '__main__':
    main()
