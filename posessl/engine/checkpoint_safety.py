"""Safe, offline checkpoint loading (:func:`enable_checkpoint_safety`), the
check that a state dict fits a model (:func:`check_checkpoint_fits`), and
atomic checkpoint saving (:class:`AtomicLocalBackend`).
"""
import os
import os.path as osp
import pickle
import tempfile
from collections import Counter, OrderedDict
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Union,
)

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio.backends import backends as _storage_backends
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from posessl.errors import CheckpointError

__all__ = [
    'enable_checkpoint_safety', 'CheckpointError', 'load_checkpoint_file',
    'check_checkpoint_fits', 'last_good_checkpoint', 'AtomicLocalBackend',
    'ATOMIC_BACKEND'
]

#: name of :class:`AtomicLocalBackend` among MMEngine's storage backends
ATOMIC_BACKEND = 'posessl_atomic_local'

#: how a file starts: a torch.save zip archive, or a pickle stream (the
#: legacy torch.save format or a plain pickle.dump)
_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_PROTO = b'\x80'

#: MMEngine's remote schemes (the last two are its regular expressions for
#: object storage, which need an optional client)
_URL_PREFIXES = ('http://', 'https://', 'torchvision://', 'modelzoo://',
                 'open-mmlab://', 'openmmlab://', 'mmcls://', 'pavi://',
                 r'(\S+\:)?s3://', r'(\S+\:)?petrel://')


#: statistics HistoryBuffer registers on first use; custom ones registered
#: with ``HistoryBuffer.register_statistics`` are accepted too
_HISTORY_BUFFER_STATISTICS = {'min', 'max', 'current', 'mean'}


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    Only resolves ``HistoryBuffer.<statistic>``, so allow-listing it does not
    hand the pickle stream a general attribute lookup.
    """
    allowed = _HISTORY_BUFFER_STATISTICS | set(
        HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def _numpy_globals() -> list:
    """numpy objects pickled inside MMEngine checkpoints (both module paths
    numpy 1.x and 2.x write)."""
    reconstruct = np._core.multiarray._reconstruct
    scalar = np._core.multiarray.scalar
    allowed: list = [np.ndarray, np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        allowed.append((reconstruct, f'{module}._reconstruct'))
        allowed.append((scalar, f'{module}.scalar'))
    for name in dir(np.dtypes):
        cls = getattr(np.dtypes, name)
        if isinstance(cls, type) and issubclass(cls, np.dtype):
            allowed.append(cls)
    return allowed


def load_checkpoint_file(filename: str,
                         map_location: Optional[str] = None) -> dict:
    """``torch.load(filename, weights_only=True)`` with one-line errors.

    Raises:
        CheckpointError: the file is missing, not a PyTorch checkpoint,
            truncated or corrupt, or holds a pickled object that is not
            plain weights; the message names the file.
    """
    if '://' in filename:
        load_from_url(filename)
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise CheckpointError(f'checkpoint {filename!r} does not exist')
    with open(filename, 'rb') as f:
        head = f.read(8)
    if not head.startswith((_ZIP_MAGIC, _PICKLE_PROTO)):
        raise CheckpointError(
            f'{filename!r} is not a PyTorch checkpoint (it starts with '
            f'{head!r}; a torch.save file starts with a zip or pickle '
            'header): is it the right file?')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [line.strip() for line in str(err).splitlines()]
        unsafe = [line for line in lines
                  if 'GLOBAL' in line or 'not allowed' in line]
        if not unsafe and head.startswith(_PICKLE_PROTO):
            unsafe = [line for line in lines if 'Unsupported operand' in line]
            raise CheckpointError(
                f'checkpoint {filename!r} was refused: it is a plain pickle '
                f'(pickle.dump, not torch.save; {unsafe[0] if unsafe else ""}'
                '), which can run code when loaded. posessl loads '
                'checkpoints with weights_only=True; re-save it from trusted '
                'code with torch.save(state_dict).') from None
        if not unsafe:  # a corrupt file, not a refused global
            raise CheckpointError(
                f'{filename!r} is not a readable PyTorch checkpoint '
                '(its pickle stream is malformed)') from None
        raise CheckpointError(
            f'checkpoint {filename!r} was refused: it holds a pickled object '
            f'that is not plain weights ({unsafe[0]}). posessl loads '
            'checkpoints with weights_only=True; re-save it from trusted code '
            'as a plain state dict.') from None
    except Exception as err:  # noqa: BLE001  (torch raises many kinds)
        # the first sentence: torch's own advice follows in later ones
        first = str(err).split('. ')[0].splitlines()[0] if str(err) else ''
        hint = ' (truncated or corrupt: was its save cut off?)' \
            if head.startswith(_ZIP_MAGIC) else ''
        raise CheckpointError(
            f'{filename!r} is not a readable PyTorch checkpoint{hint}: '
            f'{type(err).__name__}: {first}') from None


def _strip_module(key: str) -> str:
    """A key without the ``module.`` prefix a DDP-wrapped model saves."""
    return key[len('module.'):] if key.startswith('module.') else key


def _model_kind(keys: Iterable[str]) -> Optional[str]:
    """``'pose'`` for a pose model's weights (a ``head``), ``'pretraining'``
    for a ``ContrastivePretrainer``'s (``backbone`` and ``neck``, no
    ``head``), else None."""
    tops = {key.split('.')[0] for key in keys}
    if 'head' in tops:
        return 'pose'
    if {'backbone', 'neck'} <= tops:
        return 'pretraining'
    return None


def _per_module(keys: List[str]) -> str:
    """``'head (8), neck (8)'``: the keys counted per top-level module."""
    counts = Counter(key.split('.')[0] for key in keys)
    return ', '.join(f'{name} ({n})' for name, n in counts.items())


def _kind_mismatch(saved_kind: Optional[str], model_kind: Optional[str],
                   filename: str) -> Optional[str]:
    """The message for a pretraining checkpoint given to a pose model or
    the other way round; None otherwise."""
    if saved_kind == 'pretraining' and model_kind == 'pose':
        return (f'checkpoint {filename!r} is a self-supervised pretraining '
                'checkpoint (backbone and projection neck, no pose head: '
                'what a configs/ssl/ config trains), and this config\'s '
                'model is a pose model: test, infer or resume it with a '
                'checkpoint of a pose config (configs/pose/), or start a '
                'pose model from it by training an ssl-ft pose config '
                '(configs/pose/pose_*-ssl-ft*) with --cfg-options '
                f'model.backbone.init_cfg.checkpoint={filename}')
    if saved_kind == 'pose' and model_kind == 'pretraining':
        return (f'checkpoint {filename!r} is a pose model\'s checkpoint '
                '(it has a pose head: what a configs/pose/ config trains), '
                'and this config\'s model is a self-supervised pretrainer '
                '(configs/ssl/): give it to the pose config it was trained '
                'with')
    return None


def check_checkpoint_fits(state_dict: Any, model: torch.nn.Module,
                          filename: str,
                          allow_partial: bool = False) -> Dict[str, Any]:
    """Refuse a checkpoint whose weights are not exactly ``model``'s.

    The keys (after stripping a DDP ``module.`` prefix) and the shapes must
    be the model's, and every floating-point tensor must be finite. A
    pretraining checkpoint given to a pose model (or the other way round)
    is named as such.

    Args:
        state_dict: The checkpoint's state dict.
        model: The model it is for (unwrapped from DDP).
        filename: The checkpoint's path, for the message.
        allow_partial: Load what fits on purpose (a config's
            ``load_partial = True``): missing, unexpected and reshaped
            tensors are left out, but at least one must fit, and those
            that do must be finite.

    Returns:
        The tensors to load, keys without the ``module.`` prefix.

    Raises:
        CheckpointError: one line naming the file and the first offending
            tensor.
    """
    if not isinstance(state_dict, Mapping):
        raise CheckpointError(f'checkpoint {filename!r} holds no state dict '
                              f'(it holds a {type(state_dict).__name__})')
    saved = {_strip_module(k): v for k, v in state_dict.items()}
    expected = model.state_dict()
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    reshaped = [k for k in expected if k in saved and (
        not torch.is_tensor(saved[k])
        or saved[k].shape != expected[k].shape)]
    fits = {k: saved[k] for k in expected
            if k in saved and k not in reshaped}
    if not allow_partial:
        kind = _kind_mismatch(_model_kind(saved), _model_kind(expected),
                              filename)
        if kind is not None and (missing or unexpected):
            raise CheckpointError(kind)
        _refuse_mismatch(filename, len(expected), missing, unexpected)
        _refuse_reshaped(filename, len(expected), reshaped, saved, expected)
    elif not fits:
        raise CheckpointError(
            f'checkpoint {filename!r} shares no weight with the model '
            '(load_partial=True loads the tensors whose names and shapes '
            'match, and there is none): is it the right file?')
    bad = [k for k, v in fits.items()
           if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        count = int((~torch.isfinite(fits[bad[0]])).sum())
        raise CheckpointError(
            f'checkpoint {filename!r} holds weights that are not finite: '
            f'{bad[0]} has {count} NaN/inf values ({len(bad)} of '
            f'{len(fits)} tensors are affected); it was saved from a run '
            'that diverged, or it was damaged: use an earlier checkpoint of '
            'that run')
    weights = OrderedDict(fits)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:  # module versions, as torch.save keeps them
        weights._metadata = OrderedDict(
            (_strip_module(k), v) for k, v in metadata.items())
    return weights


def _refuse_mismatch(filename: str, total: int, missing: List[str],
                     unexpected: List[str]) -> None:
    """Raise when keys are missing from or unexpected in a checkpoint."""
    if not missing and not unexpected:
        return
    parts = []
    if missing:
        parts.append(f'{len(missing)} of the model\'s {total} weights are '
                     f'missing ({_per_module(missing)}; first '
                     f'{missing[0]})')
    if unexpected:
        parts.append(f'{len(unexpected)} weights are not in the model '
                     f'({_per_module(unexpected)}; first {unexpected[0]})')
    raise CheckpointError(
        f'checkpoint {filename!r} does not match the model: '
        f'{"; ".join(parts)}. Is it a checkpoint of this config? To load '
        'part of a model on purpose set load_partial=True in the config, '
        "or load a backbone with init_cfg=dict(type='Pretrained', "
        "prefix='backbone.')")


def _refuse_reshaped(filename: str, total: int, reshaped: List[str],
                     saved: Mapping, expected: Mapping) -> None:
    """Raise when a tensor of the checkpoint has another shape."""
    if not reshaped:
        return
    key = reshaped[0]
    value = saved[key]
    got = tuple(value.shape) if torch.is_tensor(value) else \
        f'a {type(value).__name__}, not a tensor'
    raise CheckpointError(
        f'checkpoint {filename!r} does not fit the model: {key} is '
        f'{got} in the checkpoint and {tuple(expected[key].shape)} in the '
        f'model ({len(reshaped)} of {total} tensors differ). Is it a '
        'checkpoint of this config (the same backbone, head and objects)? '
        'To load the tensors that fit on purpose set load_partial=True in '
        'the config')


def load_from_local(filename: str,
                    map_location: Optional[str] = None) -> dict:
    """MMEngine's loader for local files (``load_from``, ``resume``,
    ``init_cfg``); MMEngine's log line names the backend after this
    function's name, so it keeps MMEngine's."""
    if '://' not in filename and not osp.isfile(osp.expanduser(filename)):
        raise CheckpointError(f'checkpoint {filename!r} does not exist; check '
                              'the path given to load_from, --resume or a '
                              'model init_cfg')
    return load_checkpoint_file(filename, map_location)


def load_from_url(filename: str, map_location: Optional[str] = None,
                  **kwargs: Any) -> dict:
    """MMEngine's loader for URLs, which refuses them in one line."""
    raise CheckpointError(
        f'{filename!r} is a URL, and posessl reads checkpoints from local '
        'files only (it never downloads at run time). '
        'Download the file on a machine with a network, copy it here, and '
        'give its local path instead (e.g. a torchvision state dict such as '
        "init_cfg=dict(type='Pretrained', checkpoint='/path/resnet18.pth')).")


_enabled = False


def enable_checkpoint_safety() -> None:
    """Allow-list MMEngine's checkpoint globals and register safe loaders.

    Allow-lists in ``torch.load(weights_only=True)`` exactly the non-tensor
    globals an MMEngine checkpoint pickles (``HistoryBuffer`` and its
    statistics, numpy scalars and arrays) and replaces MMEngine's local and
    URL ``CheckpointLoader`` schemes, so that every load fails in one line
    naming the file, and URLs are refused. This changes process-wide state,
    so only the tools call it (``import posessl`` does not); calling it
    again does nothing.
    """
    global _enabled
    if _enabled:
        return
    torch.serialization.add_safe_globals(
        [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] +
        _numpy_globals())
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local)
    CheckpointLoader.register_scheme(
        prefixes=_URL_PREFIXES, force=True)(load_from_url)
    _enabled = True


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local storage (``posessl_atomic_local``) whose ``put``
    writes a temporary file and renames it into place, so a reader sees the
    old file or the complete new one."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically.

        Raises:
            CheckpointError: the write failed (disk full, file too large,
                no permission); the message names the file and the last
                good checkpoint, which is left as it was.
        """
        filepath = str(filepath)
        folder = osp.dirname(osp.abspath(filepath))
        tmp = None
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                dir=folder, prefix=f'.{osp.basename(filepath)}.',
                suffix='.tmp')
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # as open() would create it
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, filepath)
        except BaseException as err:
            if tmp is not None and osp.exists(tmp):
                os.remove(tmp)
            if isinstance(err, OSError):
                raise CheckpointError(
                    f'could not write checkpoint {filepath!r} '
                    f'({_os_error(err)}); nothing was replaced: '
                    f'{_last_good(folder)}') from err
            raise


def _os_error(err: OSError) -> str:
    """``[Errno 28] No space left on device`` without the file name
    (the message names it already)."""
    if err.errno is None:
        return str(err)
    return f'[Errno {err.errno}] {err.strerror}'


def _last_good(folder: str) -> str:
    """The end of a failed write's message: which checkpoint is intact."""
    last = last_good_checkpoint(folder)
    if last is not None:
        return f'the last good checkpoint is still {last}'
    return f'no earlier checkpoint of this run is in {folder}'


def last_good_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``<work_dir>/last_checkpoint`` names (what
    ``--resume`` continues from), or None where either file is missing.

    Unlike the message hub's ``last_ckpt`` it never names a refused or
    half-written file, nor one of another run's work dir.
    """
    try:
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            last = f.read().strip()
    except OSError:
        return None
    return last if last and osp.isfile(last) else None


# a new name only: no existing backend or prefix is replaced
if ATOMIC_BACKEND not in _storage_backends:
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend)
