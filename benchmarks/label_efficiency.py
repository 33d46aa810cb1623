"""What self-supervised pretraining buys at each label fraction.

For each label fraction and seed, the same pose model and schedule is trained
from (a) the self-supervised checkpoint, fine-tuned and frozen (linear probe),
(b) scratch, (c) an ImageNet checkpoint when a local file is given, and the
variants that add one technique each (see ``DATASETS``); plus a
training-free baseline: the pose of the nearest labelled frame in the
pretrained embedding space, transferred to the query crop (computed once
per fraction: it has no seed). Every model is scored once on the test
split with ADD(-S), and on its own labelled training frames (the fit), so
underfitting and overfitting can be told apart.

    python benchmarks/label_efficiency.py [--dataset realmesh|procedural]
        (--dataset lmo-real: the real-photo benchmark, real_photos.py)
        [--fractions 0.02 0.1 1.0] [--seeds 0 1 2] [--iters N]
        [--methods ...] [--ssl-checkpoint CKPT]
        [--imagenet-checkpoint resnet18.pth] [--work-dir DIR]

``realmesh`` (the default) is the real LINEMOD ape and duck rendered over
real LINEMOD-Occluded photographs (generated from ``--lmo-sample`` when
missing); ``procedural`` is the synthetic default. The pose runs follow the
configs' schedule (600 iterations) except where the data set needs its own
(``DATASETS[...].fraction_iters``: the real-mesh set's 100 % cells train
1,200) or ``--iters`` asks for another. Each finished run keeps its row
(``<method>_<N>pct_<iters>it_seed<S>/result.json``) and is reused, so an
interrupted benchmark resumes where it stopped, and calls with different
``--fractions`` / ``--seeds`` / ``--iters`` add up. After every run it rewrites
``results.csv`` and ``label_efficiency.png`` in the work dir from all
finished runs, and at the end prints their table (with the number of seeds,
the iterations and each method's mean training wall time).
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config

from posessl.engine.runner_setup import (
    iteration_schedule_options,
    last_logged_metrics,
)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The folder of the projects (``projects/<name>``): their configs import
#: their package with ``custom_imports``, from the checkout's root.
PROJECTS = osp.join(REPO, 'projects')
if REPO not in sys.path:
    sys.path.append(REPO)  # after posessl's own place: only for projects
#: ``--dataset`` of the real-photo benchmark (benchmarks/real_photos.py:
#: renders, a few real labels and the unlabelled recording, scored on real
#: LINEMOD-Occluded photographs), run with that script's options.
REAL_PHOTOS = 'lmo-real'
#: Per data set: where it lives, how it is generated (arguments of
#: tools/make_synthetic_linemod.py after the folder; ``{lmo}`` is the
#: shared LINEMOD-Occluded sample), the pretraining config and one pose
#: config per method (the label fraction is set on the command line).
DATASETS = {
    'realmesh': dict(
        data_root='data/realmesh_lmo',
        generate=['--models-dir', '{lmo}/models', '--backgrounds-dir',
                  '{lmo}/test/000002/rgb'],
        ssl_config='configs/ssl/ssl_r18_1xb32-5e_realmesh.py',
        pose_configs={
            'ssl-ft':
            'configs/pose/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py',
            'ssl-frozen':
            'configs/pose/pose_r18-ssl-frozen_1xb32-600it_realmesh-10pct.py',
            'scratch':
            'configs/pose/pose_r18-scratch_1xb32-600it_realmesh-10pct.py',
            'imagenet-ft':
            'configs/pose/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py',
            # the keypoint head, a project (projects/keypoint_pnp)
            'ssl-ft-kpt':
            'projects/keypoint_pnp/configs/'
            'pose_r18-ssl-ft-kpt_1xb32-600it_realmesh-10pct.py',
            'scratch-kpt':
            'projects/keypoint_pnp/configs/'
            'pose_r18-scratch-kpt_1xb32-600it_realmesh-10pct.py',
            'ssl-ft-pseudo':
            'configs/pose/pose_r18-ssl-ft-pseudo_1xb32-600it_realmesh-10pct.py',
            # the relative-viewpoint loss while fine-tuning, a project
            # (projects/view_finetune)
            'ssl-ft-view':
            'projects/view_finetune/configs/'
            'pose_r18-ssl-ft-view_1xb32-600it_realmesh-10pct.py',
            'ssl-ft-sil':
            'configs/pose/pose_r18-ssl-ft-sil_1xb32-600it_realmesh-10pct.py',
            'scratch-sil':
            'configs/pose/pose_r18-scratch-sil_1xb32-600it_realmesh-10pct.py',
            'ssl-ft-view-sil':
            'projects/view_finetune/configs/'
            'pose_r18-ssl-ft-view-sil_1xb32-600it_realmesh-10pct.py',
        },
        # every label at the configs' 600 iterations underfits (fit = test,
        # 66-92.5 % by seed); 1,200 fit 98-99 % (docs/results.md;
        # pose_r18-ssl-ft_1xb32-1200it_realmesh-100pct.py)
        fraction_iters={1.0: 1200}),
    'procedural': dict(
        data_root='data/synthetic_linemod',
        generate=[],
        ssl_config='configs/ssl/ssl_r18_1xb32-5e_synthetic.py',
        pose_configs={
            'ssl-ft':
            'configs/pose/pose_r18-ssl-ft_1xb32-600it_synthetic-10pct.py',
            'ssl-frozen':
            'configs/pose/pose_r18-ssl-frozen_1xb32-600it_synthetic-10pct.py',
            'scratch':
            'configs/pose/pose_r18-scratch_1xb32-600it_synthetic-10pct.py',
            'imagenet-ft':
            'configs/pose/pose_r18-ssl-ft_1xb32-600it_synthetic-10pct.py',
            'ssl-ft-sil':
            'configs/pose/pose_r18-ssl-ft-sil_1xb32-600it_synthetic-10pct.py',
            'scratch-sil':
            'configs/pose/pose_r18-scratch-sil_1xb32-600it_synthetic-10pct.py',
        },
        fraction_iters={}),
}
#: Methods that test another method's trained model with a test-time
#: refiner (``model.refiner`` in their config): method -> the trained one.
REFINED = {
    'ssl-ft-sil': 'ssl-ft',
    'scratch-sil': 'scratch',
    'ssl-ft-view-sil': 'ssl-ft-view'
}
METRIC = 'add/ADD(-S)_0.1d'
FIELDS = [
    'method', 'label_fraction', 'seed', 'labelled_frames', 'ADD(-S)_0.1d',
    'ADD(-S)_AUC', 'rot_err_median_deg', 'trans_err_median_mm',
    'fit_ADD(-S)_0.1d', 'fit_rot_err_median_deg', 'iters', 'precision',
    'train_s'
]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', choices=list(DATASETS) + [REAL_PHOTOS],
                        default='realmesh',
                        help='realmesh (default): real LINEMOD models over '
                        'real photographs; procedural: the synthetic '
                        'default; lmo-real: real LINEMOD-Occluded '
                        'photographs (benchmarks/real_photos.py and its '
                        'options)')
    parser.add_argument('--data-root', default=None,
                        help='the data set folder (default: '
                        'DATASETS[dataset].data_root; generated if missing)')
    parser.add_argument('--lmo-sample',
                        default=osp.join('..', 'shared', 'data',
                                         'lmo_sample'),
                        help='the LINEMOD-Occluded sample the realmesh set '
                        'is generated from')
    parser.add_argument('--work-dir', default=None,
                        help='default: work_dirs/label_efficiency_<dataset>')
    parser.add_argument(
        '--fractions', type=float, nargs='+', default=[0.02, 0.05, 0.1, 1.0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument(
        '--iters',
        type=positive_int,
        default=None,
        help='pose training iterations at every fraction (default: the '
        "configs' schedule, or the data set's own at some fractions: "
        'DATASETS[...].fraction_iters)')
    parser.add_argument(
        '--methods',
        nargs='+',
        default=['ssl-ft', 'ssl-frozen', 'scratch', 'nearest-neighbour'],
        choices=list(DATASETS['realmesh']['pose_configs'])
        + ['nearest-neighbour'],
        help='ssl-ft-kpt / scratch-kpt: the keypoint + PnP head '
        '(projects/keypoint_pnp); '
        'ssl-ft-pseudo: ssl-ft trained again with the pseudo-labels its '
        'ssl-ft run (same fraction and seed, run first when missing) gives '
        'the unlabelled frames (tools/pseudo_label.py); ssl-ft-view: ssl-ft '
        'with the relative-viewpoint loss kept on the unlabelled frames '
        '(projects/view_finetune)')
    parser.add_argument(
        '--ssl-checkpoint',
        default=None,
        help='self-supervised checkpoint (default: train one with the '
        "data set's pretraining config into the work dir)")
    parser.add_argument(
        '--imagenet-checkpoint',
        default=None,
        help='a local torchvision ResNet18 state dict; adds imagenet-ft')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='train the pose runs in bfloat16 autocast (tools/train.py '
        '--amp; on a CPU with native bfloat16 about 1.5x faster; the '
        'self-supervised model stays float32); its runs are kept apart '
        '(folders ending in _bf16, precision bf16)')
    parser.add_argument('--num-workers', type=int, default=0)
    parser.add_argument(
        '--report',
        action='store_true',
        help='print the table of the finished runs in the work dir and '
        'stop (runs nothing)')
    parser.add_argument(
        '--jobs',
        type=positive_int,
        default=1,
        help='training runs at a time; each gets cores / jobs torch threads '
        '(on 2 cores, 2 single-threaded runs finish sooner than one after '
        'the other)')
    args = parser.parse_args(argv)
    setup = DATASETS[args.dataset]
    args.data_root = args.data_root or setup['data_root']
    args.work_dir = args.work_dir or f'work_dirs/label_efficiency_' \
        f'{args.dataset}'
    args.pose_configs = setup['pose_configs']
    missing = [m for m in args.methods
               if m != 'nearest-neighbour' and m not in args.pose_configs]
    if missing:
        parser.error(f'{", ".join(missing)}: no {args.dataset} config '
                     f'(methods of this set: '
                     f'{", ".join(args.pose_configs)}, nearest-neighbour)')
    args.ssl_config = setup['ssl_config']
    return args


class RunFailed(RuntimeError):
    """A tool the benchmark ran exited non-zero (the message names its
    log)."""


def run(cmd: List[str], log: str, threads: Optional[int] = None) -> float:
    """Run a tool quietly from the repo root, its output in ``log``;
    returns its wall time. ``threads`` caps torch's CPU threads (the
    parallel runs of ``--jobs`` share the cores)."""
    start = time.time()
    log = osp.join(REPO, log)
    os.makedirs(osp.dirname(log), exist_ok=True)
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if any(osp.abspath(osp.join(REPO, str(part))).startswith(PROJECTS + os.sep)
           for part in cmd):
        # a project's config: the tool imports the project from REPO
        env['PYTHONPATH'] = os.pathsep.join(
            p for p in (env.get('PYTHONPATH'), REPO) if p)
    with open(log, 'w') as f:
        proc = subprocess.run([sys.executable] + cmd,
                              cwd=REPO,
                              env=env,
                              stdout=f,
                              stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RunFailed(f'{" ".join(cmd)} failed; see {log}')
    return time.time() - start


def config_iters(config: str) -> int:
    """The iterations of a pose config's own schedule."""
    return Config.fromfile(osp.join(REPO, config)).train_cfg.max_iters


def train_set_key(cfg: Config) -> str:
    """The config key of a pose config's training data set: the one inside
    a ``TripletDataset`` (``ssl-ft-view``) where it is wrapped."""
    key = 'train_dataloader.dataset'
    wrapped = cfg.train_dataloader.dataset.type == 'TripletDataset'
    return key + '.dataset' if wrapped else key


def pose_iters(method: str, fraction: float,
               args: argparse.Namespace) -> int:
    """A pose run's iterations: ``--iters``, else the data set's schedule
    for this fraction, else the method's config's."""
    return (args.iters or DATASETS[args.dataset]['fraction_iters'].get(
        fraction) or config_iters(args.pose_configs[method]))


def precision(args: argparse.Namespace) -> str:
    """The pose runs' training precision: ``'bf16'`` with ``--amp``."""
    return 'bf16' if args.amp else 'fp32'


def result_file(method: str, fraction: float, seed: int,
                args: argparse.Namespace) -> str:
    """Where one run's result row is kept (its presence = finished); the
    folder names the schedule, so runs of another length are not reused."""
    name = f'{method}_{fraction * 100:g}pct'
    if method != 'nearest-neighbour':
        name += f'_{pose_iters(method, fraction, args)}it'
        if args.amp:
            name += f'_{precision(args)}'
    return osp.join(REPO, args.work_dir, f'{name}_seed{seed}',
                    'result.json')


def train_and_test(method: str, fraction: float, seed: int,
                   args: argparse.Namespace, ssl_ckpt: str,
                   threads: Optional[int] = None) -> dict:
    """One pose run: train, then score on the test split and on the
    labelled training frames (the fit). Each tool's output goes to
    ``<run dir>/<step>.log``."""
    done = result_file(method, fraction, seed, args)
    run_dir = osp.relpath(osp.dirname(done), REPO)
    config = args.pose_configs[method]
    cfg = Config.fromfile(osp.join(REPO, config))
    train_set = train_set_key(cfg)
    data = [
        f'{train_set}.data_root={args.data_root}',
        f'test_dataloader.dataset.data_root={args.data_root}',
        f'model.objects.models_dir={args.data_root}/models',
        f'train_dataloader.num_workers={args.num_workers}',
        f'train_dataloader.persistent_workers={args.num_workers > 0}',
        f'test_dataloader.num_workers={args.num_workers}',
        f'test_dataloader.persistent_workers={args.num_workers > 0}',
    ]
    init = []
    if method.startswith('ssl-'):
        init = [f'model.backbone.init_cfg.checkpoint={ssl_ckpt}']
        if 'neck' in cfg.model:
            init.append(f'model.neck.init_cfg.checkpoint={ssl_ckpt}')
    elif method == 'imagenet-ft':
        init = [
            f'model.backbone.init_cfg.checkpoint={args.imagenet_checkpoint}',
            'model.backbone.init_cfg.prefix=None'
        ]
    # the config's own schedule unless another length is asked for
    iters = pose_iters(method, fraction, args)
    schedule = (iteration_schedule_options(iters)
                if iters != config_iters(config) else [])
    extra: Dict[str, object] = {}
    if method == 'ssl-ft-pseudo':
        pseudo, extra = pseudo_labels(fraction, seed, args, ssl_ckpt,
                                      threads, run_dir)
        init.append(f'{train_set}.pseudo_labels={pseudo}')
    if method in REFINED:  # test-time only: the base run's checkpoint
        base = REFINED[method]
        train_s = run_cell(base, fraction, seed, args, ssl_ckpt,
                           threads)['train_s']
        train_dir = osp.join(osp.relpath(osp.dirname(
            result_file(base, fraction, seed, args)), REPO), 'train')
    else:
        train_dir = osp.join(run_dir, 'train')
        amp = ['--amp'] if args.amp else []
        train_s = run([
            'tools/train.py', config, '--work-dir', train_dir
        ] + amp + ['--cfg-options'] + data + init + schedule + [
            'default_hooks.logger.interval=100',
            f'default_hooks.checkpoint.interval={iters}',
            f'{train_set}.label_fraction={fraction}',
            f'randomness.seed={seed}'
        ], osp.join(run_dir, 'train.log'), threads)
    ckpt = osp.join(train_dir, f'iter_{iters}.pth')
    test_dir = osp.join(run_dir, 'test')
    run(['tools/test.py', config, ckpt, '--work-dir', test_dir,
         '--cfg-options'] + data, osp.join(run_dir, 'test.log'), threads)
    metrics = last_logged_metrics(osp.join(REPO, test_dir))
    if not metrics:
        raise RunFailed(f'no test metrics under {test_dir}')
    # the fit: the same scoring on the labelled training frames
    fit_dir = osp.join(run_dir, 'fit')
    run(['tools/test.py', config, ckpt, '--work-dir', fit_dir,
         '--cfg-options'] + data + [
             'test_dataloader.dataset.split=train',
             f'test_dataloader.dataset.label_fraction={fraction}',
             'test_dataloader.dataset.labelled_only=True'],
        osp.join(run_dir, 'fit.log'), threads)
    fit = last_logged_metrics(osp.join(REPO, fit_dir))
    if not fit:
        raise RunFailed(f'no fit metrics under {fit_dir}')
    return dict(row(method, fraction, seed, labelled_frames(args, fraction),
                    metrics, train_s, fit, iters, precision(args)),
                **extra)


_cell_locks: Dict[tuple, threading.Lock] = {}
_cell_locks_guard = threading.Lock()


def cell_lock(method: str, fraction: float, seed: int) -> threading.Lock:
    """One lock per cell: a pseudo-label run waits for its teacher when
    another thread is training it."""
    with _cell_locks_guard:
        return _cell_locks.setdefault((method, fraction, seed),
                                      threading.Lock())


def pseudo_labels(fraction: float, seed: int, args: argparse.Namespace,
                  ssl_ckpt: str, threads: Optional[int],
                  run_dir: str) -> tuple:
    """The pseudo-label file of the ssl-ft run of this fraction and seed
    (the teacher; trained first when missing) and its counts."""
    run_cell('ssl-ft', fraction, seed, args, ssl_ckpt, threads)
    teacher = osp.relpath(
        osp.dirname(result_file('ssl-ft', fraction, seed, args)), REPO)
    config = args.pose_configs['ssl-ft']
    iters = pose_iters('ssl-ft', fraction, args)
    out = osp.join(run_dir, 'pseudo_labels.json')
    run(['tools/pseudo_label.py', config,
         osp.join(teacher, 'train', f'iter_{iters}.pth'), '--out', out,
         '--cfg-options', f'train_dataloader.dataset.data_root='
         f'{args.data_root}',
         f'model.objects.models_dir={args.data_root}/models',
         f'train_dataloader.dataset.label_fraction={fraction}'],
        osp.join(run_dir, 'pseudo_label.log'), threads)
    with open(osp.join(REPO, out)) as f:
        counts = json.load(f)['header'].get('counts', {})
    return out, {'pseudo_counts': counts}


def row(method: str, fraction: float, seed: int, n_labelled: int,
        metrics: Dict[str, float], train_s: float,
        fit: Optional[Dict[str, float]] = None,
        iters: Optional[int] = None,
        precision: Optional[str] = None) -> dict:
    """One result row; ``fit`` holds the metrics on the labelled training
    frames, ``iters`` the training iterations and ``precision`` the
    training's (``'fp32'`` or ``'bf16'``; none of them for the
    training-free baseline)."""
    fit = fit or {}
    return {
        'method': method,
        'label_fraction': fraction,
        'seed': seed,
        'labelled_frames': n_labelled,
        'ADD(-S)_0.1d': metrics[METRIC],
        'ADD(-S)_AUC': metrics['add/ADD(-S)_AUC'],
        'rot_err_median_deg': metrics['add/rot_err_median_deg'],
        'trans_err_median_mm': metrics['add/trans_err_median_mm'],
        'fit_ADD(-S)_0.1d': fit.get(METRIC, float('nan')),
        'fit_rot_err_median_deg': fit.get('add/rot_err_median_deg',
                                          float('nan')),
        'iters': iters,
        'precision': precision,
        'train_s': round(train_s, 1),
    }


def _dataset(args: argparse.Namespace, split: str, **kwargs):
    from posessl.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO, args.pose_configs['scratch']))
    dataset = dict(cfg.test_dataloader.dataset)
    dataset.update(
        data_root=osp.join(REPO, args.data_root), split=split, **kwargs)
    return DATASETS.build(dataset)


def labelled_frames(args: argparse.Namespace, fraction: float) -> int:
    return len(
        _dataset(
            args,
            'train',
            label_fraction=fraction,
            labelled_only=True,
            test_mode=False))


def nearest_neighbour(fraction: float, seed: int, args: argparse.Namespace,
                      ssl_ckpt: str) -> dict:
    """Training-free baseline: each test crop takes the pose of the nearest
    labelled training crop in the self-supervised embedding space."""
    from mmengine.dataset import pseudo_collate

    from posessl.apis import build_inference_model
    from posessl.evaluation import ADDMetric, transfer_pose
    from posessl.evaluation.retrieval import nearest_neighbour_indices
    start = time.time()
    model = build_inference_model(
        Config.fromfile(osp.join(REPO, args.ssl_config)), ssl_ckpt)
    labelled = _dataset(
        args,
        'train',
        label_fraction=fraction,
        labelled_only=True,
        test_mode=False)
    test = _dataset(args, 'test', test_mode=True)

    def embed(dataset) -> tuple:
        feats, samples = [], []
        with torch.no_grad():
            for i in range(0, len(dataset), 64):
                batch = pseudo_collate(
                    [dataset[j] for j in range(i, min(i + 64, len(dataset)))])
                data = model.data_preprocessor(batch, False)
                feats.append(model.embed(data['inputs']))
                samples += data['data_samples']
        return torch.cat(feats), samples

    db_emb, db = embed(labelled)
    q_emb, queries = embed(test)
    idx = nearest_neighbour_indices(
        q_emb,
        db_emb,
        query_groups=np.array([s.obj_id for s in queries]),
        db_groups=np.array([s.obj_id for s in db]))
    results = []
    for query, j in zip(queries, idx.tolist()):
        source = db[j]
        size = tuple(query.img_shape[:2])
        R, t = transfer_pose(
            source.gt_R.double(), source.gt_t.double(),
            torch.as_tensor(source.crop_K), torch.as_tensor(query.crop_K),
            size)
        query.pred_R, query.pred_t = R.float(), t.float()
        results.append(query.to_dict())
    metric = ADDMetric()
    metric.dataset_meta = test.metainfo
    metric.process({}, results)
    scores, table = metric.score(metric.results)
    # the per-object table goes to the run's log, as a trained run's goes
    # to its test.log
    log = osp.join(osp.dirname(result_file('nearest-neighbour', fraction,
                                           seed, args)), 'test.log')
    os.makedirs(osp.dirname(log), exist_ok=True)
    with open(log, 'w') as f:
        f.write(table + '\n')
    metrics = {f'add/{k}': v for k, v in scores.items()}
    return row('nearest-neighbour', fraction, seed, len(labelled), metrics,
               time.time() - start)


def ensure_data(args: argparse.Namespace) -> None:
    """Generate the data set where its folder has none (deterministic)."""
    if osp.isfile(osp.join(REPO, args.data_root, 'dataset_info.json')):
        return
    extra = [a.format(lmo=args.lmo_sample)
             for a in DATASETS[args.dataset]['generate']]
    print(f'generating the {args.dataset} set into {args.data_root} ...')
    run(['tools/make_synthetic_linemod.py', args.data_root] + extra,
        osp.join(args.work_dir, 'generate.log'))


def ensure_ssl_checkpoint(args: argparse.Namespace) -> str:
    if args.ssl_checkpoint:
        return args.ssl_checkpoint
    cfg = Config.fromfile(osp.join(REPO, args.ssl_config))
    ssl_dir = osp.join(args.work_dir, 'ssl')
    ckpt = osp.join(ssl_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    if not osp.isfile(osp.join(REPO, ckpt)):
        print(f'training the self-supervised model into {ssl_dir} ...')
        resume = ['--resume'] if osp.isfile(
            osp.join(REPO, ssl_dir, 'last_checkpoint')) else []
        run(['tools/train.py', args.ssl_config, '--work-dir', ssl_dir]
            + resume +
            [
                '--cfg-options',
                f'train_dataloader.dataset.dataset.data_root={args.data_root}'
            ], osp.join(ssl_dir, 'train.log'))
    return ckpt


def print_table(rows: List[dict]) -> None:
    """Per method and fraction: test ADD(-S)@0.1d mean +- std over n seeds,
    the fit on the labelled training frames, median rotation error, the
    training iterations (and precision when not float32) and mean training
    wall time. Runs of one method and fraction with different schedules
    get a row each."""
    fractions = sorted({r['label_fraction'] for r in rows})
    print('\nADD(-S)@0.1d (%) on the test split, mean +- std over n seeds; '
          'fit = the same on the labelled training frames; median rotation '
          'error (deg); training iterations; mean training wall time (s)')
    width = 53
    print(f"{'method':<18}" + ''.join(
        f'{f * 100:>6g}% labels'.ljust(width) for f in fractions))
    for method in sorted({r['method'] for r in rows}):
        mine = [r for r in rows if r['method'] == method]
        schedules = {f: sorted({_schedule(r) for r in mine
                                if r['label_fraction'] == f},
                               key=lambda s: (s[0], s[1] != 'fp32', s[1]))
                     for f in fractions}
        for layer in range(max(len(s) for s in schedules.values())):
            cells = []
            for fraction in fractions:
                if layer >= len(schedules[fraction]):
                    cells.append(' ' * width)
                    continue
                schedule = schedules[fraction][layer]
                sel = [r for r in mine if r['label_fraction'] == fraction
                       and _schedule(r) == schedule]
                cells.append(_cell(sel, schedule).ljust(width))
            print(f"{method if layer == 0 else '':<18}" + ''.join(cells))


def _schedule(r: dict) -> tuple:
    """A run's training schedule: (iterations, 0 for the training-free
    baseline; precision, rows from before the column: float32)."""
    return (r.get('iters') or 0, r.get('precision') or 'fp32')


def _cell(sel: List[dict], schedule: tuple) -> str:
    acc = np.array([r['ADD(-S)_0.1d'] for r in sel])
    fits = [float(r.get('fit_ADD(-S)_0.1d', 'nan')) for r in sel]
    fits = [f for f in fits if not np.isnan(f)]
    fit = f'{np.mean(fits):5.1f}' if fits else '  -  '
    rot = np.median([r['rot_err_median_deg'] for r in sel])
    secs = np.mean([r['train_s'] for r in sel])
    spread = f'+-{acc.std():.1f}' if len(sel) > 1 else ''
    iters, precision = schedule
    label = '-' if not iters else f'{iters}it' + (
        '' if precision == 'fp32' else f' {precision}')
    return (f'{acc.mean():>5.1f}{spread:<7}n{len(sel)} fit {fit} '
            f'{rot:>5.1f}deg {label:>11} {secs:>4.0f}s')


def plot(rows: List[dict], out: str, dataset: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for method in sorted({r['method'] for r in rows}):
        fractions = sorted({
            r['label_fraction']
            for r in rows if r['method'] == method
        })
        for ax, key in zip(axes, ('ADD(-S)_0.1d', 'rot_err_median_deg')):
            vals = [[
                r[key] for r in rows
                if r['method'] == method and r['label_fraction'] == f
            ] for f in fractions]
            mean = [np.mean(v) for v in vals]
            std = [np.std(v) for v in vals]
            ax.errorbar([100 * f for f in fractions],
                        mean,
                        yerr=std,
                        marker='o',
                        capsize=3,
                        label=method)
    axes[0].set_ylabel('ADD(-S) accuracy at 0.1 d (%)')
    axes[1].set_ylabel('median rotation error (deg)')
    ticks = sorted({100 * r['label_fraction'] for r in rows})
    for ax in axes:
        ax.set_xscale('log')
        # the measured fractions as plain numbers, not powers of ten
        ax.set_xticks(ticks, [f'{t:g}' for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel('labelled training frames (%)')
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f'posessl label efficiency ({dataset} set, CPU scale)')
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)  # one figure per finished run would pile up otherwise


def finished_rows(args: argparse.Namespace) -> List[dict]:
    """Every finished run in the work dir, from this or earlier calls."""
    rows = []
    for path in glob.glob(osp.join(REPO, args.work_dir, '*', 'result.json')):
        with open(path) as f:
            rows.append(json.load(f))
    return sorted(rows, key=lambda r: (r['method'], r['label_fraction'],
                                       r['seed']))


def write_outputs(args: argparse.Namespace) -> List[dict]:
    """The CSV and the plot of every finished run in the work dir."""
    rows = finished_rows(args)
    out_dir = osp.join(REPO, args.work_dir)
    with open(osp.join(out_dir, 'results.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, osp.join(out_dir, 'label_efficiency.png'), args.dataset)
    return rows


def run_cell(method: str, fraction: float, seed: int,
             args: argparse.Namespace, ssl_ckpt: str,
             threads: Optional[int]) -> dict:
    """One cell of the table, reused when finished earlier."""
    with cell_lock(method, fraction, seed):
        return _run_cell(method, fraction, seed, args, ssl_ckpt, threads)


def _run_cell(method: str, fraction: float, seed: int,
              args: argparse.Namespace, ssl_ckpt: str,
              threads: Optional[int]) -> dict:
    done = result_file(method, fraction, seed, args)
    if osp.isfile(done):  # finished earlier: reuse it
        with open(done) as f:
            return json.load(f)
    if method == 'nearest-neighbour':
        result = nearest_neighbour(fraction, seed, args, ssl_ckpt)
    else:
        result = train_and_test(method, fraction, seed, args, ssl_ckpt,
                                threads)
    os.makedirs(osp.dirname(done), exist_ok=True)
    with open(done, 'w') as f:
        json.dump(result, f)
    return result


def run_cells(cells: List[tuple], jobs: int, run_one: Callable[[tuple], dict],
              report: Callable[[tuple, dict], None]) -> None:
    """Run ``run_one(cell)`` for every cell, ``jobs`` at a time, and
    ``report(cell, result)`` after each, one report at a time. After the
    first :class:`RunFailed` no new cell starts, and the benchmark exits
    with its line once the running ones are done."""
    lock = threading.Lock()
    failed: List[str] = []

    def one(cell: tuple) -> None:
        if failed:  # start nothing new after a failure
            return
        try:
            result = run_one(cell)
        except RunFailed as err:
            failed.append(str(err))
            return
        with lock:
            report(cell, result)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for future in [pool.submit(one, cell) for cell in cells]:
            future.result()
    if failed:
        sys.exit(f'error: {failed[0]}')


def main(argv: Optional[List[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument('--dataset')
    known, rest = first.parse_known_args(argv)
    if known.dataset == REAL_PHOTOS:  # its own protocol and options
        from real_photos import main as real_photos_main
        return real_photos_main(rest)
    args = parse_args(argv)
    if args.report:
        print_table(finished_rows(args))
        return
    start = time.time()
    ensure_data(args)
    methods = list(args.methods)
    if args.imagenet_checkpoint:
        if not osp.isfile(args.imagenet_checkpoint):
            sys.exit(f'error: {args.imagenet_checkpoint!r} does not exist')
        methods.append('imagenet-ft')
    elif 'imagenet-ft' in methods:
        sys.exit('error: imagenet-ft needs --imagenet-checkpoint FILE '
                 '(a local torchvision ResNet18 state dict)')
    needs_ssl = any(m.startswith('ssl-') or m == 'nearest-neighbour'
                    for m in methods)
    ssl_ckpt = ensure_ssl_checkpoint(args) if needs_ssl else ''
    # the training-free baseline has no seed (the labelled subset is fixed
    # by the fraction): once per fraction
    cells = [(method, fraction, seed) for seed in args.seeds
             for fraction in args.fractions for method in methods
             if method != 'nearest-neighbour' or seed == args.seeds[0]]
    threads = max(1, (os.cpu_count() or 1) // args.jobs)

    def one(cell: tuple) -> dict:
        method, fraction, seed = cell
        return run_cell(method, fraction, seed, args, ssl_ckpt,
                        threads if args.jobs > 1 else None)

    def report(cell: tuple, result: dict) -> None:
        method, fraction, seed = cell
        write_outputs(args)  # what is finished so far
        print(f'{method:>18} {fraction:>6.0%} seed {seed}: '
              f"ADD(-S)@0.1d {result['ADD(-S)_0.1d']:.1f} %, "
              f"rotation {result['rot_err_median_deg']:.1f} deg, "
              f"{result['train_s']:.0f} s", flush=True)

    run_cells(cells, args.jobs, one, report)
    print_table(write_outputs(args))
    print(f"\nwrote {osp.join(args.work_dir, 'results.csv')} and "
          f"{osp.join(args.work_dir, 'label_efficiency.png')}")
    iters = args.iters or "the configs' (or the data set's per fraction)"
    print(f'machine: {os.cpu_count()} CPU cores, torch '
          f'{torch.__version__}, '
          f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'}"  # noqa: E501
          f'; pose schedule: {iters} iterations, batch 32, 64 px, '
          f"{'bfloat16 autocast' if args.amp else 'float32'}; "
          f'{args.jobs} run(s) at a time; this call took '
          f'{time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
