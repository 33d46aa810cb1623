"""The main job: synthetic data -> self-supervised pretraining -> pose training
on a label fraction -> test (ADD(-S) table, BOP CSV, pose overlays).

    python tools/run_pipeline.py [--work-dir work_dirs/pipeline]
        [--data-root data/synthetic_linemod] [--label-fraction 0.1] [--quick]
        [--verbose]

Each stage is one of the standard commands (printed before it runs), so any of
them can be rerun or changed on its own. A stage shows one progress line and
a short summary (the test stage its ADD(-S) table); its full output goes to
``<work-dir>/<stage>.log`` (``data``, ``ssl``, ``pose``, ``test``), and
``--verbose`` shows it as well. A failing stage prints the end of its log.
Run the same command again after an interruption: finished stages are
skipped and a cut-off training stage resumes from its last checkpoint.
Relative paths (``--work-dir``, ``--data-root``) are taken from the current
folder; the configs are paths or names (``posessl configs`` lists them), and
the scripts are the ones next to this file (a checkout's ``tools/``, or
``posessl/.mim/tools`` of an installed wheel: ``posessl-pipeline``).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import List, Optional

from mmengine.config import Config

from posessl.engine import enable_checkpoint_safety, load_checkpoint_file
from posessl.engine.runner_setup import (
    iteration_schedule_options,
    last_logged_metrics,
)
from posessl.errors import CheckpointError, DataError
from posessl.launcher import resolve_config
from posessl.structures.io import read_json

#: This script's folder, whose scripts the stages run, and the folder that
#: holds it and ``configs/`` (the checkout, or ``posessl/.mim``).
TOOLS = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(TOOLS)
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
    parser.add_argument(
        '--verbose',
        action='store_true',
        help="show every stage's full output (it always goes to "
        '<work-dir>/<stage>.log)')
    return parser.parse_args(argv)


#: MMEngine's progress lines: ``Epoch(train) [e][i/n]``, ``Iter(train)
#: [i/N]``, ``Epoch(test) [i/n]`` / ``Iter(test) [i/n]`` (not validation)
_MMENGINE_STEP = re.compile(
    r'(?:Epoch|Iter)\((train|test)\)\s*(?:\[\s*(\d+)\])?'
    r'\[\s*(\d+)/(\d+)\]')
#: tqdm's ``n/total [elapsed<remaining`` (the data generator's bar)
_TQDM_STEP = re.compile(r'\|\s*(\d+)/(\d+)\s*\[[^<\]]*<([\d:]+)')
_LOSS = re.compile(r'\bloss: (\S+)')
_ETA = re.compile(r'\beta: (\S+)')
#: the prefix of every line MMEngine's logger writes
_LOG_PREFIX = re.compile(r'^\d\d/\d\d \d\d:\d\d:\d\d - ')
TAIL_LINES = 20


class StageProgress:
    """Follows one stage's output and shows its progress on one line.

    On a terminal the line is redrawn in place; otherwise (a log, a pipe) a
    line is printed each time another quarter of the stage is done.

    Args:
        name: The stage's short name (``data``, ``ssl``, ``pose``,
            ``test``).
        epochs: The stage's number of epochs when it is epoch-based (its
            progress lines count iterations within an epoch).
    """

    def __init__(self, name: str, epochs: Optional[int] = None) -> None:
        self.name = name
        self.epochs = epochs
        self.done = self.total = 0
        self.loss: Optional[str] = None
        self.eta: Optional[str] = None
        self.tty = sys.stdout.isatty()
        self._quarters = 0
        self._drawn = False

    def feed(self, line: str) -> None:
        """Read one line of the stage's output."""
        step = _MMENGINE_STEP.search(line)
        if step is not None:
            epoch, i, n = step.group(2), int(step.group(3)), \
                int(step.group(4))
            if epoch is not None and self.epochs:
                self.done = (int(epoch) - 1) * n + i
                self.total = self.epochs * n
            else:
                self.done, self.total = i, n
            loss, eta = _LOSS.search(line), _ETA.search(line)
            self.loss = loss.group(1) if loss else self.loss
            self.eta = eta.group(1) if eta else None
            self._show()
            return
        bar = _TQDM_STEP.search(line)
        if bar is not None:
            self.done, self.total = int(bar.group(1)), int(bar.group(2))
            self.eta = bar.group(3)
            self._show()

    def text(self) -> str:
        """The progress line: done / total, loss, ETA."""
        parts = [f'  {self.name:5s}']
        if self.total:
            share = self.done / self.total
            filled = int(20 * share)
            parts.append(f'[{"#" * filled}{"." * (20 - filled)}] '
                         f'{share:4.0%} {self.done}/{self.total}')
        if self.loss is not None:
            parts.append(f'loss {self.loss}')
        if self.eta is not None:
            parts.append(f'eta {self.eta}')
        return '  '.join(parts)

    def _show(self) -> None:
        if self.tty:
            sys.stdout.write('\r' + self.text().ljust(79)[:79])
            sys.stdout.flush()
            self._drawn = True
            return
        quarters = int(4 * self.done / self.total) if self.total else 0
        if quarters > self._quarters:
            self._quarters = quarters
            print(self.text(), flush=True)

    def close(self) -> None:
        """End the redrawn line (on a terminal)."""
        if self._drawn:
            sys.stdout.write('\n')
            sys.stdout.flush()
            self._drawn = False


def tail(path: str, count: int = TAIL_LINES) -> List[str]:
    """The last ``count`` lines of a text file."""
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read().splitlines()[-count:]


def tool(script: str) -> str:
    """The path of a script next to this one (``train.py``, ...)."""
    return osp.join(TOOLS, script)


def find_config(arg: str) -> str:
    """The config file a path or config name means; exits when none."""
    path = resolve_config(arg, ROOT)
    if path is None:
        sys.exit(f'error: config {arg!r} not found: it is no file and no '
                 "config has that name ('posessl configs' lists them)")
    return path


def shown(cmd: List[str]) -> str:
    """A stage's command as one types it: ``python``, then the arguments,
    paths inside the current folder made relative to it."""
    cwd = os.getcwd()

    def short(arg: str) -> str:
        if osp.isabs(arg):
            relative = osp.relpath(arg, cwd)
            if not relative.startswith(os.pardir):
                return relative
        return arg

    return ' '.join(shlex.quote(short(c)) for c in ['python'] + cmd)


def run(cmd: List[str], log_file: str, verbose: bool = False,
        progress: Optional[StageProgress] = None) -> None:
    """Run one stage's command (``python`` arguments) from the current
    folder, printing it first as :func:`shown` writes it.

    Its whole output (stdout and stderr) goes to ``log_file``; with
    ``verbose`` also to the console, otherwise ``progress`` reads it. A
    failing stage prints the end of its log and exits.
    """
    print('$ ' + shown(cmd), flush=True)
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    with open(log_file, 'w', encoding='utf-8') as log, subprocess.Popen(
            [sys.executable] + cmd, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            errors='replace') as proc:
        try:
            # text mode reads tqdm's carriage returns as line ends
            for line in proc.stdout:
                log.write(line)
                if verbose:
                    sys.stdout.write(line)
                elif progress is not None:
                    progress.feed(line)
        except KeyboardInterrupt:  # the stage got it too: let it save
            proc.wait()
        finally:
            if progress is not None:
                progress.close()
    if proc.returncode != 0:
        if not verbose:
            print(f'--- last {TAIL_LINES} lines of {log_file} ---')
            print('\n'.join(tail(log_file)))
            print('---')
        sys.exit(f'error: stage failed (exit status {proc.returncode}): '
                 f'{shown(cmd)}; its full output is in {log_file}')


def add_table(log_file: str) -> List[str]:
    """The ADD(-S) table the test stage logged (empty if none)."""
    with open(log_file, encoding='utf-8', errors='replace') as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines)
              if line.startswith('ADD(-S) accuracy')]
    if not starts:
        return []
    table, rules = [], 0
    for line in lines[starts[-1]:]:
        if _LOG_PREFIX.match(line):
            break
        table.append(line)
        rules += bool(line) and set(line) == {'-'}
        if rules == 4:  # the last of format_table's four rules
            break
    return table


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


def data_command(data_root: str, size: dict, seed: int) -> List[str]:
    """The command that generates the synthetic set: ``--overwrite`` only
    where a folder without ``dataset_info.json`` (the file the generator
    writes last) holds what an interrupted generation left."""
    cmd = [
        tool('make_synthetic_linemod.py'), data_root, '--num-objects',
        str(size['num_objects']), '--train-frames',
        str(size['train_frames']), '--test-frames',
        str(size['test_frames']), '--seed',
        str(seed)
    ]
    if osp.isdir(data_root) and os.listdir(data_root):
        cmd.append('--overwrite')
    return cmd


def fresh_overlay_dir(test_dir: str) -> str:
    """``<test_dir>/overlays`` for ``tools/test.py --show-dir``, emptied of
    an earlier run's pictures, so the report lists this run's only."""
    folder = osp.join(test_dir, 'overlays')
    shutil.rmtree(folder, ignore_errors=True)
    return folder


def stage(index: int, title: str) -> float:
    print(f'\n=== [{index}/4] {title} ===', flush=True)
    return time.time()


def stage_log(stage_dir: str) -> str:
    """Where a stage's full output goes: ``<stage_dir>.log``, next to the
    stage's folder (``<work_dir>/ssl`` -> ``<work_dir>/ssl.log``)."""
    return osp.normpath(stage_dir) + '.log'


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
                final: str, verbose: bool = False,
                progress: Optional[StageProgress] = None) -> str:
    """Train unless the final checkpoint exists and loads; resume a
    cut-off run from its newest checkpoint that loads. The output goes to
    :func:`stage_log` of ``work_dir``."""
    final_path = osp.join(work_dir, final)
    if osp.isfile(final_path):
        problem = checkpoint_problem(final_path)
        if problem is None:
            print(f'already trained: {final_path}')
            return final_path
        os.replace(final_path, final_path + '.broken')
        print(f'{problem}; moved it to {final_path}.broken and training '
              'this stage again')
    cmd = [tool('train.py'), config, '--work-dir', work_dir]
    resume_from = resume_checkpoint(work_dir)
    if resume_from is not None:
        cmd += ['--resume', resume_from]
    run(cmd + ['--cfg-options'] + options, stage_log(work_dir), verbose,
        progress)
    problem = checkpoint_problem(final_path)
    if problem is not None:
        sys.exit(f'error: training finished without a loadable final '
                 f'checkpoint: {problem}')
    return final_path


def trained_summary(progress: StageProgress, unit: str, t0: float,
                    checkpoint: str) -> None:
    """The summary line of a training stage."""
    loss = '' if progress.loss is None else \
        f', last logged loss {progress.loss}'
    count = progress.epochs if progress.epochs else progress.total
    print(f'{count} {unit} in {time.time() - t0:.0f} s{loss}; '
          f'checkpoint {checkpoint}')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    enable_checkpoint_safety()
    size = QUICK if args.quick else FULL
    data_root = args.data_root or ('data/synthetic_linemod_quick'
                                   if args.quick else 'data/synthetic_linemod')
    work_dir = args.work_dir
    verbose = args.verbose
    started = time.time()
    workers = [] if args.num_workers is None else [
        f'train_dataloader.num_workers={args.num_workers}',
        f'train_dataloader.persistent_workers={args.num_workers > 0}'
    ]

    t0 = stage(1, 'synthetic LINEMOD data')
    info_file = osp.join(data_root, 'dataset_info.json')
    if osp.isfile(info_file):
        check_reused_data(info_file, size, args.seed)
        print(f'reusing {data_root}')
    else:
        log_file = stage_log(osp.join(work_dir, 'data'))
        cmd = data_command(data_root, size, args.seed)
        if '--overwrite' in cmd:
            print(f'{data_root} has no dataset_info.json (an interrupted '
                  'generation): generating it again')
        run(cmd, log_file, verbose, StageProgress('data'))
        print(f"wrote {data_root}: {size['num_objects']} objects x "
              f"({size['train_frames']} train + {size['test_frames']} test) "
              f'frames in {time.time() - t0:.0f} s; log {log_file}')

    t0 = stage(2, 'self-supervised relative-viewpoint pretraining (no labels)')
    ssl_config = find_config(args.ssl_config)
    pose_config = find_config(args.pose_config)
    ssl_cfg = Config.fromfile(ssl_config)
    ssl_epochs = size['ssl_epochs'] or ssl_cfg.train_cfg.max_epochs
    ssl_dir = osp.join(work_dir, 'ssl')
    progress = StageProgress('ssl', epochs=ssl_epochs)
    ssl_ckpt = train_stage(ssl_config, ssl_dir, [
        f'train_dataloader.dataset.dataset.data_root={data_root}',
        f'train_cfg.max_epochs={ssl_epochs}',
        f'param_scheduler.0.T_max={ssl_epochs}',
        f'randomness.seed={args.seed}'
    ] + workers, f'epoch_{ssl_epochs}.pth', verbose, progress)
    if progress.total:  # it ran
        trained_summary(progress, 'epochs', t0, ssl_ckpt)
        print(f'log {stage_log(ssl_dir)}')

    t0 = stage(3, f'pose training on {args.label_fraction:.0%} of the labels')
    pose_cfg = Config.fromfile(pose_config)
    pose_iters = size['pose_iters'] or pose_cfg.train_cfg.max_iters
    pose_dir = osp.join(work_dir, 'pose')
    data_options = [
        f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        f'model.objects.models_dir={data_root}/models',
    ]
    schedule = [] if pose_iters == pose_cfg.train_cfg.max_iters else \
        iteration_schedule_options(pose_iters)
    progress = StageProgress('pose')
    pose_ckpt = train_stage(pose_config, pose_dir, data_options + [
        f'train_dataloader.dataset.label_fraction={args.label_fraction}',
        f'model.backbone.init_cfg.checkpoint={ssl_ckpt}',
        f'randomness.seed={args.seed}'
    ] + schedule + workers, f'iter_{pose_iters}.pth', verbose, progress)
    if progress.total:
        trained_summary(progress, 'iterations', t0, pose_ckpt)
        print(f'log {stage_log(pose_dir)}')

    t0 = stage(4, 'test: ADD(-S) on the test split (scored once)')
    test_dir = osp.join(work_dir, 'test')
    csv_file = osp.join(work_dir, 'posessl_synthetic-test.csv')
    overlay_dir = fresh_overlay_dir(test_dir)
    run([
        tool('test.py'), pose_config, pose_ckpt, '--work-dir', test_dir,
        '--out', csv_file, '--show-dir', overlay_dir, '--cfg-options'
    ] + data_options + ['default_hooks.visualization.interval=10'],
        stage_log(test_dir), verbose, StageProgress('test'))
    if not verbose:  # the table is in the output already
        print('\n'.join(add_table(stage_log(test_dir))))
    metrics = last_logged_metrics(test_dir)  # the newest run: this one
    overlays = sorted(glob.glob(osp.join(overlay_dir, '*.png')))
    print(f'tested in {time.time() - t0:.0f} s; log {stage_log(test_dir)}')
    print(f'BOP results CSV: {csv_file}')
    if overlays:
        print(f'pose overlays:   {osp.dirname(overlays[0])} '
              f'({len(overlays)} PNGs, GT green, prediction red)')

    print('\n=== summary ===')
    for key in ('add/ADD(-S)_0.1d', 'add/ADD(-S)_0.05d', 'add/ADD(-S)_AUC',
                'add/Proj2D_5px', 'add/rot_err_median_deg',
                'add/trans_err_median_mm'):
        if key in metrics:
            print(f'{key:28s} {metrics[key]:.2f}')
    print(f'wall time:       {time.time() - started:.0f} s')
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(dict(metrics=metrics, overlays=overlays[:5],
                       wall_time_s=time.time() - started), f, indent=1)


if __name__ == '__main__':
    main()
