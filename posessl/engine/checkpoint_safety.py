"""Safe, offline checkpoint loading for MMEngine under torch >= 2.6.

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; torch now loads
with ``weights_only=True`` by default and refuses the few non-tensor globals an
MMEngine checkpoint pickles (the message hub's ``HistoryBuffer`` and numpy
scalars and arrays). Rather than switching that safety off, :func:`install`
allow-lists exactly those globals. ``builtins.getattr`` (how pickle
stores ``HistoryBuffer.min`` and friends) is mapped to
:func:`_history_buffer_getattr`, which only returns statistic methods of
``HistoryBuffer``; any other global in a checkpoint is still refused.

It also replaces MMEngine's checkpoint loaders so that every load (``resume``,
``load_from``, ``init_cfg=dict(type='Pretrained')``, ``tools/test.py``) fails
with one clear line naming the file and the problem, and so that URLs fail
offline with a hint on how to supply a local file instead of downloading.
"""
import os.path as osp
import pickle
from typing import Any, Callable, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = ['install', 'CheckpointError', 'load_checkpoint_file']

_URL_PREFIXES = ('http://', 'https://', 'torchvision://', 'modelzoo://',
                 'open-mmlab://', 'openmmlab://', 'mmcls://', 'pavi://')


#: statistics HistoryBuffer registers on first use; custom ones registered
#: with ``HistoryBuffer.register_statistics`` are accepted too
_HISTORY_BUFFER_STATISTICS = {'min', 'max', 'current', 'mean'}


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, unsafe, or a URL."""


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
    """``torch.load(filename, weights_only=True)`` with clear errors."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise CheckpointError(f'checkpoint {filename!r} does not exist; check '
                              'the path given to --resume, load_from, '
                              'tools/test.py or init_cfg')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [line.strip() for line in str(err).splitlines()]
        unsafe = [line for line in lines
                  if 'GLOBAL' in line or 'not allowed' in line]
        if not unsafe:  # a corrupt or foreign file, not a refused global
            raise CheckpointError(
                f'{filename!r} is not a readable PyTorch checkpoint '
                '(its pickle stream is malformed)') from None
        raise CheckpointError(
            f'checkpoint {filename!r} was refused: it holds a pickled object '
            f'that is not plain weights ({unsafe[0]}). posessl loads '
            'checkpoints with weights_only=True; re-save it from trusted code '
            'as a plain state dict.') from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(
            f'{filename!r} is not a readable PyTorch checkpoint '
            f'({type(err).__name__}: {str(err).splitlines()[0]})') from None


def _load_local(filename: str, map_location: Optional[str] = None) -> dict:
    return load_checkpoint_file(filename, map_location)


def _refuse_url(filename: str, map_location: Optional[str] = None,
                **kwargs: Any) -> dict:
    raise CheckpointError(
        f'{filename!r} is a URL, and posessl never downloads at run time. '
        'Download the file on a machine with a network, copy it here, and '
        'give its local path instead (e.g. a torchvision state dict such as '
        "init_cfg=dict(type='Pretrained', checkpoint='/path/resnet18.pth')).")


def install() -> None:
    """Allow-list MMEngine's checkpoint globals and register safe loaders."""
    torch.serialization.add_safe_globals(
        [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] +
        _numpy_globals())
    CheckpointLoader.register_scheme(prefixes='', force=True)(_load_local)
    CheckpointLoader.register_scheme(
        prefixes=_URL_PREFIXES, force=True)(_refuse_url)
