"""The command-line glue of ``tools/``: shared options, config loading, the
checks that turn a mistake the Runner would meet deep inside into one line,
and :func:`run_tool`, which prints posessl's errors without a traceback.
"""
import argparse
import difflib
import os
import os.path as osp
import sys
from typing import Any, Callable, Iterator, List, Optional, Tuple, TypeVar

import torch
from mmengine.config import Config
from mmengine.config import DictAction as MMEngineDictAction
from mmengine.registry import DefaultScope, Registry
from mmengine.registry import root as mmengine_root

import posessl.registry as posessl_registry
from posessl.engine.optim_wrappers import cpu_supports_bf16
from posessl.engine.runner_setup import amp_dtype_name
from posessl.errors import PosesslError, TrainingStopped, UserError

__all__ = [
    'add_runner_arguments', 'add_debug_argument',
    'add_model_tool_arguments',
    'load_tool_config', 'load_config', 'check_required_keys',
    'check_registered_types', 'check_data_roots', 'check_checkpoint',
    'check_resumable', 'make_work_dir', 'is_first_process',
    'add_safety_hooks', 'configure_device', 'DictAction', 'run_tool',
    'is_user_error'
]

T = TypeVar('T')

class DictAction(MMEngineDictAction):
    """MMEngine's ``--cfg-options`` parser, with argparse's usage error
    (not a traceback) for an item that is not ``key=value`` or whose
    brackets do not pair."""

    def __call__(self, parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace, values: Any,
                 option_string: Optional[str] = None) -> None:
        for item in values or []:
            key, eq, value = item.partition('=')
            if not eq or not key:
                raise argparse.ArgumentError(
                    self, f'{item!r} is not key=value (e.g. '
                    'train_cfg.max_iters=100)')
            if value.count('(') != value.count(')') or \
                    value.count('[') != value.count(']'):
                raise argparse.ArgumentError(
                    self, f'{item!r}: its brackets do not pair')
        super().__call__(parser, namespace, values, option_string)


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``tools/train.py`` and ``tools/test.py`` share."""
    parser.add_argument('--work-dir', help='where logs, checkpoints and '
                        'results go (default: ./work_dirs/<config name>)')
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
    add_debug_argument(parser)


def add_model_tool_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the tools that run a trained model outside the
    Runner (``infer.py``, ``visualize_pose.py``, ``pseudo_label.py``):
    ``--device``, ``--cfg-options`` and ``--debug``."""
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    add_debug_argument(parser)


def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    """``--debug``: show the full traceback of an error."""
    parser.add_argument(
        '--debug',
        action='store_true',
        help='on an error, show the full traceback instead of one line')


def load_tool_config(args: argparse.Namespace) -> Config:
    """The config with ``--cfg-options`` merged and the work dir set."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    add_safety_hooks(cfg)
    return cfg


#: hooks every tool run has, also where a config replaces ``custom_hooks``
SAFETY_HOOKS = ('NonFiniteLossHook', 'CheckpointMatchHook', 'InterruptHook')


def add_safety_hooks(cfg: Config) -> None:
    """Append the :data:`SAFETY_HOOKS` missing from ``cfg.custom_hooks``."""
    hooks = list(cfg.get('custom_hooks') or [])
    present = {str(h.get('type', '')).split('.')[-1] for h in hooks}
    hooks += [dict(type=name) for name in SAFETY_HOOKS
              if name not in present]
    cfg.custom_hooks = hooks


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge ``--cfg-options`` into it."""
    if not osp.isfile(path):
        raise UserError(f'config file {path!r} does not exist; configs live '
                        'under configs/, e.g. configs/pose/...')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # syntax errors, bad _base_ paths, ...
        raise UserError(f'config file {path!r} could not be read: '
                        f'{type(err).__name__}: {err}') from None
    if cfg_options:
        for key, value in cfg_options.items():
            _check_option_type(cfg, key, value)
        try:
            cfg.merge_from_dict(cfg_options)
        except Exception as err:  # a key through a non-dict value, ...
            raise UserError(f'--cfg-options could not be merged into '
                            f'{path!r}: {type(err).__name__}: {err}') \
                from None
    return cfg


def _config_value(cfg: Config, key: str) -> Tuple[bool, Any]:
    """``(True, value)`` of a dotted ``--cfg-options`` key (list items by
    index) in ``cfg``, ``(False, None)`` where the config has none."""
    node: Any = cfg
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and \
                int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'keys') and part in node:  # dict or Config
            node = node[part]
        else:
            return False, None
    return True, node


def _check_option_type(cfg: Config, key: str, value: Any) -> None:
    """A ``--cfg-options`` value must be of the kind the config's own
    value is, where that is a boolean or a number."""
    found, old = _config_value(cfg, key)
    if not found or value is None:
        return
    if isinstance(old, bool):
        kind, ok = 'True or False', isinstance(value, bool)
    elif isinstance(old, int):
        kind = 'an integer'
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(old, float):
        kind = 'a number'
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        return
    if not ok:
        raise UserError(f'--cfg-options {key}={value!r}: {key} takes '
                        f'{kind} (the config has {old!r})')


def check_required_keys(cfg: Config, keys: Tuple[str, ...],
                        purpose: str) -> None:
    """The config must define every key the Runner needs for ``purpose``."""
    missing = [key for key in keys if cfg.get(key) is None]
    if missing:
        raise UserError(f'config {cfg.filename!r} cannot be used for '
                        f'{purpose}: it defines no {", ".join(missing)}')


def _dicts(node: Any, where: str = '') -> Iterator[Tuple[dict, str]]:
    """Yield every dict in ``node`` (itself included) with its config path
    (``where.key``, ``where[i]``)."""
    if isinstance(node, dict):
        yield node, where
        for key, value in node.items():
            yield from _dicts(value, f'{where}.{key}' if where else key)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _dicts(value, f'{where}[{i}]')


def _all_registries() -> List[Registry]:
    """posessl's child registries plus MMEngine's other root registries."""
    children = {
        reg.parent.name: reg
        for reg in vars(posessl_registry).values()
        if isinstance(reg, Registry) and reg.scope == 'posessl'
    }
    regs = []
    for reg in vars(mmengine_root).values():
        if isinstance(reg, Registry):
            regs.append(children.get(reg.name, reg))
    return regs


def _known_names(registries: List[Registry]) -> List[str]:
    names = set()
    for reg in registries:
        for r in (reg, reg.parent):
            if r is not None:
                names.update(r.module_dict)
    return sorted(names)


def check_registered_types(cfg: Config) -> None:
    """Fail with a suggestion when a ``type`` in the config is unknown."""
    # make sure every posessl location is imported before looking up names
    import posessl  # noqa: F401
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg['custom_imports'])
    registries = _all_registries()
    scope = cfg.get('default_scope', 'posessl')
    with DefaultScope.overwrite_default_scope(scope):
        for node, where in _dicts(cfg.to_dict()):
            name = node.get('type')
            if not isinstance(name, str) or any(
                    _lookup(reg, name) for reg in registries):
                continue
            where = where or '<root>'
            if '.' in name:
                package = name.split('.')[0]
                raise UserError(
                    f"config {cfg.filename!r}: type {name!r} at {where} is "
                    f"not registered; is the package {package!r} installed "
                    f"and imported (custom_imports=dict(imports=["
                    f"'{package}']))?")
            close = difflib.get_close_matches(
                name, _known_names(registries), n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" \
                if close else ''
            raise UserError(f'config {cfg.filename!r}: type {name!r} at '
                            f'{where} is not a registered posessl or '
                            f'MMEngine component.{hint}')


def _lookup(registry: Registry, name: str) -> bool:
    try:
        return registry.get(name) is not None
    except Exception:  # a scope prefix whose package is absent
        return False


def check_data_roots(cfg: Config,
                     loaders: Tuple[str, ...] = ('train_dataloader',
                                                 'val_dataloader',
                                                 'test_dataloader')) -> None:
    """Every ``data_root`` of the given loaders must exist."""
    for key in loaders:
        loader = cfg.get(key)
        if not loader:
            continue
        for node, where in _dicts(loader, key):
            root = node.get('data_root')
            where = f'{where}.data_root'
            if isinstance(root, str) and not osp.isdir(root):
                raise UserError(
                    f'data root {root!r} ({where}) does not exist. Generate '
                    'the synthetic default with `python '
                    'tools/make_synthetic_linemod.py DIR`, or set '
                    '--cfg-options '
                    f'{where}={"<your LINEMOD folder>"!r}.')


def check_checkpoint(path: Optional[str], what: str) -> None:
    """A checkpoint given on the command line or in the config must exist."""
    if path is None or path == 'auto':
        return
    if '://' in path:
        raise UserError(
            f'{what} {path!r} is a URL; posessl never downloads at run time. '
            'Download it elsewhere and pass the local file path.')
    if not osp.isfile(path):
        raise UserError(f'{what} {path!r} does not exist.')


def check_resumable(work_dir: str) -> str:
    """The checkpoint ``--resume`` without a value continues from.

    Raises:
        UserError: ``work_dir`` has no ``last_checkpoint`` file, or it names
            a checkpoint that is gone.
    """
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise UserError(
            f'--resume: nothing to resume in {work_dir!r} (no '
            'last_checkpoint file there). Drop --resume to train from '
            'scratch, or give the checkpoint: --resume PATH.')
    with open(marker) as f:
        latest = f.read().strip()
    if not osp.isfile(latest):
        raise UserError(
            f'--resume: {marker} names {latest!r}, which does not '
            'exist; give another checkpoint with --resume PATH.')
    return latest


def make_work_dir(work_dir: str) -> None:
    """Create the work dir (and its parents).

    Raises:
        UserError: it cannot be created or written to.
    """
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as err:
        raise UserError(f'work dir {work_dir!r} cannot be created '
                        f'([Errno {err.errno}] {err.strerror}); give a '
                        'folder you can write to with --work-dir') from None
    if not os.access(work_dir, os.W_OK | os.X_OK):
        raise UserError(f'work dir {work_dir!r} is not writable; give a '
                        'folder you can write to with --work-dir')


def is_first_process() -> bool:
    """Rank 0 of a distributed launch (torchrun's ``RANK``, Slurm's
    ``SLURM_PROCID``), or a single process."""
    rank = os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0'))
    return rank == '0'


def configure_device(cfg: Config, launcher: str, amp: bool) -> None:
    """Choose the distributed backend and AMP by the device that is present.

    ``amp``: ``AmpOptimWrapper`` on a GPU (bfloat16 where supported, else
    float16), ``BF16AutocastOptimWrapper`` on a CPU with native bfloat16.
    The backend is NCCL on GPUs, gloo on CPUs; without CUDA the gloo
    process group of ``--launcher pytorch`` is created here (MMEngine's
    ``init_dist`` would fail).

    Raises:
        UserError: ``amp`` on a machine with neither, or ``--launcher
            pytorch`` not started by torchrun on a CPU machine.
    """
    has_cuda = torch.cuda.is_available()
    if amp:
        optim_wrapper = cfg.setdefault('optim_wrapper', {})
        if has_cuda:
            optim_wrapper['type'] = 'AmpOptimWrapper'
            optim_wrapper.setdefault('dtype', amp_dtype_name())
        elif cpu_supports_bf16():
            optim_wrapper['type'] = 'posessl.BF16AutocastOptimWrapper'
        else:
            raise UserError(
                '--amp needs a CUDA GPU or a CPU with native bfloat16 '
                '(AVX512-BF16 or AMX), and this machine has neither; drop '
                '--amp to train in float32.')
    cfg.launcher = launcher
    if launcher == 'none':
        return
    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'nccl' if has_cuda else 'gloo'
    if not has_cuda and launcher == 'pytorch':
        if 'RANK' not in os.environ:
            raise UserError('--launcher pytorch expects to be started by '
                            'torchrun (RANK/WORLD_SIZE are not set); see '
                            'tools/dist_train.sh.')
        if not torch.distributed.is_initialized():
            torch.distributed.init_process_group(backend='gloo')


#: built-in errors that are one-line reports when posessl code raised them
_CHECK_ERRORS = (ValueError, LookupError, TypeError, OSError, RuntimeError)
_PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _raised_in_posessl(err: BaseException) -> bool:
    """Whether the innermost frame of ``err`` is posessl code."""
    tb = err.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return osp.abspath(tb.tb_frame.f_code.co_filename).startswith(
        _PACKAGE_DIR + os.sep)


def is_user_error(err: BaseException) -> bool:
    """Whether ``err`` reports bad input rather than a bug: a
    :class:`PosesslError`, or a built-in error raised in posessl's code."""
    if isinstance(err, PosesslError):
        return True
    return isinstance(err, _CHECK_ERRORS) and _raised_in_posessl(err)


def _message(err: BaseException) -> str:
    text = err.args[0] if len(err.args) == 1 and isinstance(
        err.args[0], str) else str(err)  # KeyError's str() adds quotes
    text = ' '.join(line.strip() for line in text.splitlines())
    if text.startswith('Cannot find valid image after'):
        text = ('no valid training sample: the pipeline refused every '
                'frame it drew (MMEngine: "' + text + '"); the warnings '
                'above name the files and the problems')
    return text


def run_tool(body: Callable[[], T], debug: bool = False) -> T:
    """Run a tool's body; report bad input in one line and exit 1.

    A user error (:func:`is_user_error`, and MMEngine's "Cannot find valid
    image") becomes ``error: <message>`` on stderr and exit status 1,
    Ctrl-C outside training becomes ``error: interrupted`` (status 130).
    Anything else, and everything with ``debug``, keeps its traceback.
    """
    try:
        return body()
    except KeyboardInterrupt:
        if debug:
            raise
        print('error: interrupted (Ctrl-C)', file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # noqa: BLE001  (sorted just below)
        foreign_refetch = str(err).startswith('Cannot find valid image')
        if debug or not (is_user_error(err) or foreign_refetch):
            raise
        line = f'error: {_message(err)}'
        if isinstance(err, TrainingStopped) and 'Ctrl-C' in str(err):
            print(line, file=sys.stderr)
            sys.exit(130)
        sys.exit(line)  # printed to stderr, status 1
