"""Pose on real photographs: renders of the object models, a few real
labels and the unlabelled recording, scored on real LINEMOD-Occluded frames.

    python benchmarks/real_photos.py [--seeds 0 1 2] [--fractions 0 0.1 0.4 1]
        [--methods render render-ft render-self render-occ real]
        [--jobs 2] [--amp] [--report] [--work-dir DIR] [--lmo-real DIR]

(also ``python benchmarks/label_efficiency.py --dataset lmo-real ...``).

The real frames (``--lmo-real``, a BOP ``lmo`` folder: the ape and duck of
scene 2) are split by the data sets' interleaved rule (``subset``,
``train_ratio=0.5``): every other image of the recording is a test image,
the rest the training pool, of which a fraction keeps its pose labels
(0.1: about 5 frames per object, 0.4: about 20, 1: all 47). Test images are
never trained on, labelled, unlabelled or as a background. Methods:

* ``render``: trained on renders only (``data/render_lmo``, generated when
  missing with ``--lighting random``): zero real labels, fraction 0.
* ``render-ft``: the seed's ``render`` model fine-tuned on the renders mixed
  with the pool's labelled frames.
* ``render-self``: as ``render-ft``, and the pool's unlabelled frames with
  pseudo-labels from the seed's ``render-ft`` model of the same fraction
  (the ``render`` model at 0), kept where the object drawn at the
  predicted pose covers the frame's amodal mask (``tools/pseudo_label.py
  --min-mask-iou``). Not where they agree along the recording: this
  subset's neighbouring images are ~45 deg apart (``--window 0``).
* ``render-self-sil``: as ``render-self``, the teacher's poses refined by
  ``SilhouetteDepthRefiner`` (depth and image position from the amodal
  mask) before they are checked and kept.
* ``render-occ``: ``render`` with ``RandomOcclusion`` in training (an
  ablation; projects/random_occlusion).
* ``real``: from scratch on the pool's labelled frames alone, for scale.

``render-box`` (crops placed by a box alone, measured 2.1 %) was dropped with
its config; projects/random_occlusion/README.md describes it.

Every model is scored on the test images with the amodal mask (the table's
figure), the visible mask, and with ``SilhouetteDepthRefiner`` on both
masks, plus its fit on its labelled real frames (on every 12th render
where it has none). Runs are kept in the work dir and reused, so an interrupted
benchmark resumes where it stopped; the table, ``results.csv`` and the
wall time are printed at the end.
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
import threading
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from posessl.engine.runner_setup import last_logged_metrics

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from label_efficiency import (  # noqa: E402
    REPO,
    RunFailed,
    finished_rows,
    positive_int,
    run,
    run_cells,
)

CONFIGS = {
    'render': 'configs/pose/pose_r18-render_1xb32-1200it_lmo-real.py',
    'render-ft': 'configs/pose/pose_r18-render-ft_1xb32-300it_lmo-real-'
    '10pct.py',
    'render-self': 'configs/pose/pose_r18-render-ft_1xb32-300it_lmo-real-'
    '10pct.py',
    'render-self-sil': 'configs/pose/pose_r18-render-ft_1xb32-300it_lmo-'
    'real-10pct.py',
    # a project: projects/random_occlusion
    'render-occ': 'projects/random_occlusion/configs/'
    'pose_r18-render-occ_1xb32-1200it_lmo-real.py',
    'real': 'configs/pose/pose_r18-real_1xb32-600it_lmo-real-100pct.py',
}
#: Methods trained without real labels: run at fraction 0 only.
ZERO_LABEL = ('render', 'render-occ')
RENDER_ROOT = 'data/render_lmo'
RENDER_ARGS = ['--lighting', 'random', '--train-frames', '1200',
               '--test-frames', '0', '--test-recording', 'new']
REAL_ROOT = 'data/lmo_real'
REAL_SET = 'train_dataloader.dataset.datasets.0.dataset'
METRIC = 'add/ADD(-S)_0.1d'
#: Test variants: column -> options of tools/test.py's --cfg-options.
VARIANTS = {
    'amodal': [],
    'visib': ['test_dataloader.dataset.mask_type=visib'],
    'amodal_sil': ['model.refiner.type=SilhouetteDepthRefiner',
                   f'model.refiner.models_dir={REAL_ROOT}/models'],
    'visib_sil': ['test_dataloader.dataset.mask_type=visib',
                  'model.refiner.type=SilhouetteDepthRefiner',
                  f'model.refiner.models_dir={REAL_ROOT}/models'],
    'amodal_silc': ['model.refiner.type=SilhouetteDepthRefiner',
                    f'model.refiner.models_dir={REAL_ROOT}/models',
                    'model.refiner.align_centroid=True'],
}
FIELDS = ['method', 'label_fraction', 'seed', 'labelled_frames',
          'ADD(-S)_0.1d', 'visib', 'amodal_sil', 'visib_sil', 'amodal_silc',
          'rot_err_median_deg', 'trans_err_median_mm', 'fit_ADD(-S)_0.1d',
          'pseudo_kept', 'pseudo_correct', 'iters', 'precision', 'train_s',
          'wall_s']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--lmo-real', default=osp.join('..', 'shared',
                                                       'data', 'lmo_real'),
                        help='the real frames (a BOP lmo folder with the ape '
                        'and duck models); linked as data/lmo_real')
    parser.add_argument('--work-dir', default='work_dirs/real_photos')
    parser.add_argument('--fractions', type=float, nargs='+',
                        default=[0.0, 0.1, 0.4, 1.0],
                        help='labelled share of the real training pool')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--methods', nargs='+', choices=list(CONFIGS),
                        default=['render', 'render-ft', 'render-self'])
    parser.add_argument('--min-mask-iou', type=float, default=0.85,
                        help="render-self's silhouette check (default 0.85)")
    parser.add_argument('--amp', action='store_true',
                        help='train in bfloat16 autocast (tools/train.py '
                        '--amp)')
    parser.add_argument('--jobs', type=positive_int, default=1,
                        help='training runs at a time (cores / jobs torch '
                        'threads each)')
    parser.add_argument('--report', action='store_true',
                        help='print the table of the finished runs and stop')
    return parser.parse_args(argv)


# ------------------------------------------------------------------ data
def ensure_data(args: argparse.Namespace) -> None:
    """Link the real frames as data/lmo_real and render data/render_lmo
    from their models when missing."""
    link = osp.join(REPO, REAL_ROOT)
    if not osp.exists(link):
        source = osp.abspath(args.lmo_real)
        if not osp.isdir(osp.join(source, 'models')):
            sys.exit(f'error: {source}: no BOP models folder (give '
                     '--lmo-real, a LINEMOD-Occluded folder)')
        os.makedirs(osp.dirname(link), exist_ok=True)
        os.symlink(source, link)
    info = osp.join(REPO, RENDER_ROOT, 'dataset_info.json')
    if osp.isfile(info):
        with open(info) as f:
            if json.load(f).get('lighting') != 'random':
                sys.exit(f'error: {info}: not rendered with --lighting '
                         'random; move it away to render the benchmark set')
        return
    print(f'rendering {RENDER_ROOT} ...', flush=True)
    run(['tools/make_synthetic_linemod.py', RENDER_ROOT, '--models-dir',
         f'{REAL_ROOT}/models', '--overwrite'] + RENDER_ARGS,
        osp.join(args.work_dir, 'render_data.log'))


# ------------------------------------------------------------------ runs
def run_dir(method: str, fraction: float, seed: int,
            args: argparse.Namespace) -> str:
    """A cell's folder (relative to the repo); ``result.json`` inside it
    marks it finished."""
    name = f'{method}_{fraction * 100:g}pct_seed{seed}'
    if args.amp:
        name += '_bf16'
    return osp.join(args.work_dir, name)


def checkpoint(config: str, folder: str) -> str:
    from mmengine.config import Config
    iters = Config.fromfile(osp.join(REPO, config)).train_cfg.max_iters
    return osp.join(folder, 'train', f'iter_{iters}.pth')


def score(config: str, ckpt: str, folder: str, options: List[str],
          threads: Optional[int]) -> Dict[str, float]:
    """tools/test.py's metrics of ``ckpt`` with ``options``."""
    run(['tools/test.py', config, ckpt, '--work-dir', folder]
        + (['--cfg-options'] + options if options else []),
        folder + '.log', threads)
    metrics = last_logged_metrics(osp.join(REPO, folder))
    if not metrics:
        raise RunFailed(f'no test metrics under {folder}')
    return metrics


def train(method: str, fraction: float, seed: int,
          args: argparse.Namespace, folder: str, options: List[str],
          threads: Optional[int]) -> float:
    """Train one model into ``folder/train``; returns the wall time. A
    cell whose training finished before (its last checkpoint and wall time
    are there) is not trained again."""
    record = osp.join(REPO, folder, 'train_s.json')
    ckpt = osp.join(REPO, checkpoint(CONFIGS[method], folder))
    if osp.isfile(ckpt):
        if osp.isfile(record):
            with open(record) as f:
                return json.load(f)
        return float('nan')  # finished by a run before train_s.json
    amp = ['--amp'] if args.amp else []
    train_s = run(['tools/train.py', CONFIGS[method], '--work-dir',
                   osp.join(folder, 'train')] + amp + ['--cfg-options'] +
                  options + [f'randomness.seed={seed}'],
                  osp.join(folder, 'train.log'), threads)
    with open(record, 'w') as f:
        json.dump(train_s, f)
    return train_s


def labelled_options(method: str, fraction: float) -> List[str]:
    """The real pool's label fraction in a method's training set."""
    key = REAL_SET if method != 'real' else 'train_dataloader.dataset'
    return [f'{key}.label_fraction={fraction}']


def fit_options(method: str, fraction: float) -> List[str]:
    """Test options that score the labelled real frames (the fit); on the
    renders where there are none."""
    if method in ZERO_LABEL or fraction == 0:  # every 12th render
        return [f'test_dataloader.dataset.data_root={RENDER_ROOT}',
                'test_dataloader.dataset.split=train',
                'test_dataloader.dataset.subset=None',
                'test_dataloader.dataset.scene_ids=None',
                'test_dataloader.dataset.mask_type=visib',
                'test_dataloader.dataset.indices='
                f'[{",".join(str(i) for i in range(0, 2400, 12))}]']
    return ['test_dataloader.dataset.subset=train',
            f'test_dataloader.dataset.label_fraction={fraction}',
            'test_dataloader.dataset.labelled_only=True']


_locks: Dict[tuple, threading.Lock] = {}
_locks_guard = threading.Lock()


def run_cell(method: str, fraction: float, seed: int,
             args: argparse.Namespace, threads: Optional[int]) -> dict:
    """One cell, reused when finished earlier; a cell that needs another
    (its start or its teacher) runs or waits for it first."""
    with _locks_guard:
        lock = _locks.setdefault((method, fraction, seed), threading.Lock())
    with lock:
        folder = run_dir(method, fraction, seed, args)
        done = osp.join(REPO, folder, 'result.json')
        if osp.isfile(done):
            with open(done) as f:
                result = json.load(f)
            missing = [v for v in VARIANTS if v not in result]
            if not missing:
                return result
            # a test variant added since: score the trained model with it
            for name in missing:
                result[name] = score(
                    CONFIGS[method], result['checkpoint'],
                    osp.join(folder, f'test_{name}'), VARIANTS[name],
                    threads)[METRIC]
        else:
            result = train_and_score(method, fraction, seed, args, folder,
                                     threads)
        with open(done, 'w') as f:
            json.dump(result, f)
        return result


def train_and_score(method: str, fraction: float, seed: int,
                    args: argparse.Namespace, folder: str,
                    threads: Optional[int]) -> dict:
    start = time.time()
    config = CONFIGS[method]
    options: List[str] = []
    extra: Dict[str, object] = {}
    self_training = method.startswith('render-self')
    if method == 'render-ft' or self_training:
        base = run_cell('render', 0.0, seed, args, threads)
        options += [f"load_from={base['checkpoint']}"]
    if method != 'render' and method not in ZERO_LABEL:
        options += labelled_options(method, fraction)
    if self_training:
        teacher = run_cell('render-ft', fraction, seed, args, threads) \
            if fraction > 0 else run_cell('render', 0.0, seed, args,
                                          threads)
        pseudo = osp.join(folder, 'pseudo_labels.json')
        run(['tools/pseudo_label.py', CONFIGS['render-ft'],
             teacher['checkpoint'], '--out', pseudo, '--window', '0',
             '--min-mask-iou', str(args.min_mask_iou), '--cfg-options']
            + labelled_options('render-ft', fraction)
            + (VARIANTS['amodal_silc'] if method == 'render-self-sil'
               else []),
            osp.join(folder, 'pseudo_label.log'), threads)
        with open(osp.join(REPO, pseudo)) as f:
            counts = json.load(f)['header']['counts']
        kept = [o['pseudo_accuracy'] for o in counts['per_object'].values()
                if o['pseudo']]
        extra = dict(pseudo_kept=counts['pseudo'], pseudo_correct=round(
            float(np.mean([k['add_acc'] for k in kept])), 1) if kept
            else float('nan'))
        options.append(f'{REAL_SET}.pseudo_labels={pseudo}')
    train_s = train(method, fraction, seed, args, folder, options, threads)
    ckpt = checkpoint(config, folder)
    metrics: Dict[str, float] = {}
    for name, opts in VARIANTS.items():
        m = score(config, ckpt, osp.join(folder, f'test_{name}'), opts,
                  threads)
        extra[name] = m[METRIC]
        metrics = metrics or m
    fit = score(config, ckpt, osp.join(folder, 'fit'),
                fit_options(method, fraction), threads)
    n_labelled = 0 if method in ZERO_LABEL else labelled_count(fraction)
    return dict(
        method=method, label_fraction=fraction, seed=seed,
        labelled_frames=n_labelled,
        **{'ADD(-S)_0.1d': metrics[METRIC],
           'rot_err_median_deg': metrics['add/rot_err_median_deg'],
           'trans_err_median_mm': metrics['add/trans_err_median_mm'],
           'fit_ADD(-S)_0.1d': fit[METRIC]},
        iters=int(ckpt.rsplit('_', 1)[1].split('.')[0]),
        precision='bf16' if args.amp else 'fp32',
        train_s=round(train_s, 1), wall_s=round(time.time() - start, 1),
        checkpoint=ckpt, **extra)


def labelled_count(fraction: float, real_root: Optional[str] = None) -> int:
    """Labelled real frames of the pool at ``fraction`` (both objects) in
    ``real_root`` (default: data/lmo_real)."""
    from mmengine.config import Config

    from posessl.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO, CONFIGS['render-ft']))
    pool = dict(cfg.train_dataloader.dataset.datasets[0].dataset)
    pool.update(data_root=real_root or osp.join(REPO, REAL_ROOT),
                pipeline=[], serialize_data=False,
                label_fraction=fraction, labelled_only=True)
    return len(DATASETS.build(pool))


# ------------------------------------------------------------------ report
def _stat(values: List[float]) -> str:
    values = [v for v in values if v is not None and not np.isnan(v)]
    if not values:
        return '-'
    spread = f' +- {np.std(values):.1f}' if len(values) > 1 else ''
    return f'{np.mean(values):.1f}{spread}'


def print_table(rows: List[dict]) -> None:
    """Per method and label fraction: mean +- std over the seeds."""
    print('\nADD(-S)@0.1d (%) on the real test frames, mean +- std over n '
          'seeds: amodal mask (crop and depth reference), visible mask, '
          'each with SilhouetteDepthRefiner (+sil; +silc: also the image '
          'position from the mask centroid); fit = the labelled '
          'real frames (renders for render); median rotation error; mean '
          'wall time per cell (s)')
    head = (f"{'method':<12}{'labels':>7}{'n':>3}  {'amodal':<12}"
            f"{'visib':<12}{'amodal+sil':<12}{'visib+sil':<12}"
            f"{'amodal+silc':<12}{'fit':<12}{'rot':>6}"
            f"{'wall':>7}")
    print(head)
    for method in sorted({r['method'] for r in rows}):
        for fraction in sorted({r['label_fraction'] for r in rows
                                if r['method'] == method}):
            sel = [r for r in rows if r['method'] == method
                   and r['label_fraction'] == fraction]

            def col(key: str) -> str:
                return _stat([r.get(key) for r in sel]).ljust(12)

            rot = np.median([r['rot_err_median_deg'] for r in sel])
            print(f'{method:<12}{fraction * 100:>6g}%{len(sel):>3}  '
                  f"{col('ADD(-S)_0.1d')}{col('visib')}{col('amodal_sil')}"
                  f"{col('visib_sil')}{col('amodal_silc')}"
                  f"{col('fit_ADD(-S)_0.1d')}"
                  f"{rot:>6.1f}{np.mean([r['wall_s'] for r in sel]):>7.0f}")


def write_csv(args: argparse.Namespace) -> List[dict]:
    rows = finished_rows(args)
    with open(osp.join(REPO, args.work_dir, 'results.csv'), 'w',
              newline='') as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)
    return rows


def table_cells(args: argparse.Namespace) -> List[tuple]:
    """``(method, fraction, seed)`` to run: the zero-label methods at 0
    only, the others where the pool has labels, render-self where it has
    unlabelled frames (below 1). Method by method, so that ``--jobs`` runs
    independent cells side by side (a cell waits for the one it starts
    from)."""
    def wanted(method: str, fraction: float) -> bool:
        if method in ZERO_LABEL:
            return fraction == 0
        if method.startswith('render-self'):
            return fraction < 1
        return fraction > 0

    return [(m, f, s) for m in args.methods for f in args.fractions
            for s in args.seeds if wanted(m, f)]


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.report:
        print_table(finished_rows(args))
        return
    start = time.time()
    ensure_data(args)
    cells = table_cells(args)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)

    def one(cell: tuple) -> dict:
        return run_cell(*cell, args, threads if args.jobs > 1 else None)

    def report(cell: tuple, result: dict) -> None:
        write_csv(args)
        print(f'{cell[0]:>12} {cell[1]:>5.0%} seed {cell[2]}: '
              f"{result.get('ADD(-S)_0.1d'):.1f} % "
              f"({result['wall_s']:.0f} s)", flush=True)

    run_cells(cells, args.jobs, one, report)
    print_table(write_csv(args))
    print(f"\nwrote {osp.join(args.work_dir, 'results.csv')}; machine: "
          f'{os.cpu_count()} CPU cores, torch {torch.__version__}, '
          f"{'CUDA' if torch.cuda.is_available() else 'no GPU'}; "
          f"{'bfloat16 autocast' if args.amp else 'float32'}, {args.jobs} "
          f'run(s) at a time; this call took {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
