"""The main job: synthetic data -> self-supervised pretraining -> pose training
on a label fraction -> test (ADD(-S) table, BOP CSV, pose overlays).

    python tools/run_pipeline.py [--work-dir work_dirs/pipeline]
        [--data-root data/synthetic_linemod] [--label-fraction 0.1] [--quick]

Each stage is one of the standard commands (printed before it runs), so any of
them can be rerun or changed on its own. Run the same command again after an
interruption: finished stages are skipped and a cut-off training stage
resumes from its last checkpoint.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import List, Optional

from mmengine.config import Config

from posessl.datasets.io import DataError, read_json
from posessl.engine import (
    CheckpointError,
    enable_checkpoint_safety,
    load_checkpoint_file,
)
from posessl.engine.runner_setup import (
    iteration_schedule_options,
    last_logged_metrics,
)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SSL_CONFIG = 'configs/ssl/ssl_r18_1xb32-5e_synthetic.py'
POSE_CONFIG = 'configs/pose/pose_r18-ssl-ft_1xb32-600it_synthetic-10pct.py'

#: Sizes of the default run and of the ``--quick`` smoke test.
FULL = dict(num_objects=3, train_frames=300, test_frames=100,
            ssl_epochs=None, pose_iters=None)
QUICK = dict(num_objects=2, train_frames=60, test_frames=16, ssl_epochs=1,
             pose_iters=40)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/pipeline')
    parser.add_argument(
        '--data-root',
        default=None,
        help='synthetic set to use or create (default: '
        'data/synthetic_linemod, or data/synthetic_linemod_quick with '
        '--quick)')
    parser.add_argument('--label-fraction', type=float, default=0.1)
    parser.add_argument('--ssl-config', default=SSL_CONFIG)
    parser.add_argument('--pose-config', default=POSE_CONFIG)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--quick',
        action='store_true',
        help='a tiny set and schedule: a smoke test of the whole path')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=None,
        help='dataloader workers (default: the configs\' setting)')
    return parser.parse_args(argv)


def run(cmd: List[str]) -> None:
    """Run one stage's command from the repository root, echoing it."""
    print('$ ' + ' '.join(shlex.quote(c) for c in cmd), flush=True)
    proc = subprocess.run([sys.executable] + cmd, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f'error: stage failed ({proc.returncode}): {" ".join(cmd)}')


def check_reused_data(info_file: str, size: dict, seed: int) -> None:
    """Exit with a clear message when an existing synthetic set is not the
    one this run would generate (other sizes, seed, or test protocol)."""
    try:
        info = read_json(info_file)
    except DataError as err:  # unreadable or not JSON: named, one line
        sys.exit(f'error: {err}')
    wanted = {'objects': size['num_objects'],
              'splits': {'train': size['train_frames'],
                         'test': size['test_frames']},
              'seed': seed, 'test_recording': 'same'}
    found = {'objects': len(info.get('objects', {})),
             'splits': info.get('splits'), 'seed': info.get('seed'),
             # sets made before the option existed used independent
             # test recordings
             'test_recording': info.get('test_recording', 'new')}
    diff = [f'{k} {found[k]!r} (wanted {wanted[k]!r})' for k in wanted
            if found[k] != wanted[k]]
    if diff:
        sys.exit(f'error: {info_file}: this synthetic set differs from the '
                 f'one this run generates: {"; ".join(diff)}. Delete its '
                 'folder to regenerate it, or give another --data-root.')


def stage(index: int, title: str) -> float:
    print(f'\n=== [{index}/4] {title} ===', flush=True)
    return time.time()


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a loadable checkpoint, or ``None`` if it is."""
    try:
        load_checkpoint_file(path, map_location='cpu')
    except CheckpointError as err:
        return str(err)
    return None


def resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint a cut-off run continues from: the one
    ``last_checkpoint`` names, else the newest other ``.pth`` in
    ``work_dir`` that loads; ``None`` when there is none."""
    named = []
    marker = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            named.append(f.read().strip())
    named += sorted(glob.glob(osp.join(work_dir, '*.pth')),
                    key=osp.getmtime, reverse=True)
    for path in named:
        if osp.isfile(path) and checkpoint_problem(path) is None:
            return path
    return None


def train_stage(config: str, work_dir: str, options: List[str],
                final: str) -> str:
    """Train unless the final checkpoint exists and loads; resume a
    cut-off run from its newest checkpoint that loads."""
    final_path = osp.join(work_dir, final)
    if osp.isfile(final_path):
        problem = checkpoint_problem(final_path)
        if problem is None:
            print(f'already trained: {final_path}')
            return final_path
        os.replace(final_path, final_path + '.broken')
        print(f'{problem}; moved it to {final_path}.broken and training '
              'this stage again')
    cmd = ['tools/train.py', config, '--work-dir', work_dir]
    resume_from = resume_checkpoint(work_dir)
    if resume_from is not None:
        cmd += ['--resume', resume_from]
    run(cmd + ['--cfg-options'] + options)
    problem = checkpoint_problem(final_path)
    if problem is not None:
        sys.exit(f'error: training finished without a loadable final '
                 f'checkpoint: {problem}')
    return final_path


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    enable_checkpoint_safety()
    size = QUICK if args.quick else FULL
    data_root = args.data_root or ('data/synthetic_linemod_quick'
                                   if args.quick else 'data/synthetic_linemod')
    work_dir = args.work_dir
    started = time.time()
    workers = [] if args.num_workers is None else [
        f'train_dataloader.num_workers={args.num_workers}',
        f'train_dataloader.persistent_workers={args.num_workers > 0}'
    ]

    t0 = stage(1, 'synthetic LINEMOD data')
    info_file = osp.join(REPO, data_root, 'dataset_info.json')
    if osp.isfile(info_file):
        check_reused_data(info_file, size, args.seed)
        print(f'reusing {data_root}')
    else:
        run([
            'tools/make_synthetic_linemod.py', data_root, '--num-objects',
            str(size['num_objects']), '--train-frames',
            str(size['train_frames']), '--test-frames',
            str(size['test_frames']), '--seed',
            str(args.seed), '--overwrite'
        ])
    print(f'({time.time() - t0:.0f} s)')

    t0 = stage(2, 'self-supervised relative-viewpoint pretraining (no labels)')
    ssl_cfg = Config.fromfile(osp.join(REPO, args.ssl_config))
    ssl_epochs = size['ssl_epochs'] or ssl_cfg.train_cfg.max_epochs
    ssl_dir = osp.join(work_dir, 'ssl')
    ssl_ckpt = train_stage(args.ssl_config, ssl_dir, [
        f'train_dataloader.dataset.dataset.data_root={data_root}',
        f'train_cfg.max_epochs={ssl_epochs}',
        f'param_scheduler.0.T_max={ssl_epochs}',
        f'randomness.seed={args.seed}'
    ] + workers, f'epoch_{ssl_epochs}.pth')
    print(f'({time.time() - t0:.0f} s)')

    t0 = stage(3, f'pose training on {args.label_fraction:.0%} of the labels')
    pose_cfg = Config.fromfile(osp.join(REPO, args.pose_config))
    pose_iters = size['pose_iters'] or pose_cfg.train_cfg.max_iters
    pose_dir = osp.join(work_dir, 'pose')
    data_options = [
        f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
    ]
    schedule = [] if pose_iters == pose_cfg.train_cfg.max_iters else \
        iteration_schedule_options(pose_iters)
    pose_ckpt = train_stage(args.pose_config, pose_dir, data_options + [
        f'train_dataloader.dataset.label_fraction={args.label_fraction}',
        f'model.backbone.init_cfg.checkpoint={ssl_ckpt}',
        f'randomness.seed={args.seed}'
    ] + schedule + workers, f'iter_{pose_iters}.pth')
    print(f'({time.time() - t0:.0f} s)')

    t0 = stage(4, 'test: ADD(-S) on the test split (scored once)')
    test_dir = osp.join(work_dir, 'test')
    csv_file = osp.join(work_dir, 'posessl_synthetic-test.csv')
    run([
        'tools/test.py', args.pose_config, pose_ckpt, '--work-dir', test_dir,
        '--out', csv_file, '--show-dir', 'overlays', '--cfg-options'
    ] + data_options + ['default_hooks.visualization.interval=10'])
    print(f'({time.time() - t0:.0f} s)')

    metrics = last_logged_metrics(osp.join(REPO, test_dir))
    overlays = sorted(
        glob.glob(osp.join(REPO, test_dir, '*', 'overlays', '**', '*.png'),
                  recursive=True))
    print('\n=== summary ===')
    for key in ('add/ADD(-S)_0.1d', 'add/ADD(-S)_0.05d', 'add/ADD(-S)_AUC',
                'add/Proj2D_5px', 'add/rot_err_median_deg',
                'add/trans_err_median_mm'):
        if key in metrics:
            print(f'{key:28s} {metrics[key]:.2f}')
    print(f'BOP results CSV: {csv_file}')
    if overlays:
        print(f'pose overlays:   {osp.dirname(overlays[0])} '
              f'({len(overlays)} PNGs, GT green, prediction red)')
    print(f'wall time:       {time.time() - started:.0f} s')
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(dict(metrics=metrics, overlays=overlays[:5],
                       wall_time_s=time.time() - started), f, indent=1)


if __name__ == '__main__':
    main()
