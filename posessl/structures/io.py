"""Annotation-file readers whose errors name the file and the problem
(e.g. ``.../scene_gt.json: not valid JSON (line 3, column 5)``)."""
import json
import os
from typing import Any, Callable, Dict, List, TextIO

import yaml

from posessl.errors import DataError

__all__ = ['read_json', 'read_yaml', 'read_frame_ids', 'require_file',
           'int_keyed']


def require_file(path: str, what: str = 'file') -> str:
    """Return ``path`` if it is a file, else raise naming it.

    Args:
        path: The path to check.
        what: What the file is, for the message (e.g. ``'image'``).

    Raises:
        FileNotFoundError: ``path`` is not an existing file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: {what} not found')
    return path


def _load(path: str, what: str, load: Callable[[TextIO], Any]) -> Any:
    """``load`` an existing text file; errors name the file."""
    require_file(path, f'{what} file')
    try:
        with open(path, encoding='utf-8') as f:
            return load(f)
    except json.JSONDecodeError as e:
        raise DataError(f'{path}: not valid JSON (line {e.lineno}, '
                        f'column {e.colno}: {e.msg})') from None
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        where = f' (line {mark.line + 1})' if mark is not None else ''
        raise DataError(f'{path}: not valid YAML{where}') from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f'{path}: cannot read ({e})') from None


def read_json(path: str) -> Any:
    """Load a JSON file.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is not valid JSON.
    """
    return _load(path, 'JSON', json.load)


_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def read_yaml(path: str) -> Any:
    """Load a YAML file with the safe loader (C-accelerated if available).

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is not valid YAML.
    """
    return _load(path, 'YAML', lambda f: yaml.load(f, Loader=_YAML_LOADER))


def read_frame_ids(path: str) -> List[int]:
    """Read a split file: one integer frame id per line.

    Leading zeros are allowed (``0004``), as is a path-like entry whose last
    component is the id (``rgb/000004.png``); blank lines are ignored.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: a line is not a frame id, or the file lists none.
    """
    require_file(path, 'split file')
    ids: List[int] = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            stem = os.path.splitext(os.path.basename(text))[0]
            try:
                ids.append(int(stem))
            except ValueError:
                raise DataError(f'{path}: line {lineno} is not a frame id: '
                                f'{text!r}') from None
    if not ids:
        raise DataError(f'{path}: the split file lists no frames')
    return ids


def int_keyed(mapping: Any, path: str) -> Dict[int, Any]:
    """Turn a ``{"12": ...}`` annotation mapping into ``{12: ...}``.

    Raises:
        DataError: ``mapping`` is not a dict keyed by integers.
    """
    if not isinstance(mapping, dict):
        raise DataError(f'{path}: expected a mapping from frame id to '
                        f'annotations, got {type(mapping).__name__}')
    out: Dict[int, Any] = {}
    for key, value in mapping.items():
        try:
            out[int(key)] = value
        except (TypeError, ValueError):
            raise DataError(f'{path}: key {key!r} is not an integer frame '
                            'id') from None
    return out
