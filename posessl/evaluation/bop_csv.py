"""BOP results CSV (``scene_id,im_id,obj_id,score,R,t,time``): the file the
official BOP toolkit evaluates, and its file name convention
``<method>_<dataset>-<split>.csv``.
"""
import os
import re
from typing import Any, Dict, Iterable, List, Mapping, Tuple

import numpy as np

from posessl.errors import BopCsvError

__all__ = [
    'BOP_CSV_HEADER', 'write_bop_csv', 'read_bop_csv',
    'bop_result_filename', 'parse_bop_result_filename'
]

BOP_CSV_HEADER = 'scene_id,im_id,obj_id,score,R,t,time'
_FIELDS = BOP_CSV_HEADER.split(',')
_NAME_RE = re.compile(r'^([^_/\\]+)_([^_\-/\\]+)-([^_/\\]+)\.csv$')


def bop_result_filename(method: str, dataset: str, split: str) -> str:
    """``<method>_<dataset>-<split>.csv``, the name the BOP toolkit parses
    to find the method, dataset and split (``posessl-r18_lmo-test.csv``).

    Raises:
        ValueError: a part is empty or holds a character that would make the
            name ambiguous (``_`` anywhere, ``-`` in the dataset, a path
            separator).
    """
    parts = dict(method=method, dataset=dataset, split=split)
    for key, value in parts.items():
        if not value or '_' in value or '/' in value or '\\' in value:
            raise ValueError(f'BOP result file name: {key} {value!r} must be '
                             "non-empty without '_' or path separators "
                             "(use '-' inside the method name)")
    if '-' in dataset:
        raise ValueError(f"BOP result file name: dataset {dataset!r} must "
                         "not contain '-'")
    return f'{method}_{dataset}-{split}.csv'


def parse_bop_result_filename(path: str) -> Tuple[str, str, str]:
    """``(method, dataset, split)`` from ``<method>_<dataset>-<split>.csv``.

    Raises:
        ValueError: the base name does not follow the convention.
    """
    match = _NAME_RE.match(os.path.basename(path))
    if match is None:
        raise ValueError(f'{path}: a BOP result file must be named '
                         '<method>_<dataset>-<split>.csv, e.g. '
                         'posessl-r18_lmo-test.csv')
    return match.group(1), match.group(2), match.group(3)


def _floats(value: Any, count: int, what: str, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise BopCsvError(f'{where}: {what} is not numeric: {value!r}') \
            from None
    if arr.size != count:
        raise BopCsvError(f'{where}: {what} needs {count} numbers, got '
                          f'{arr.size}')
    if not np.all(np.isfinite(arr)):
        raise BopCsvError(f'{where}: {what} holds NaN or inf')
    return arr


def _check_one_time(times: Dict[Tuple[int, int], float], ids: List[int],
                    time: float, where: str, unit: str) -> None:
    """Record the time of image ``ids[:2]``; raise if it had another."""
    seen = times.setdefault((ids[0], ids[1]), time)
    if seen != time:
        raise BopCsvError(
            f'{where}: image (scene {ids[0]}, im {ids[1]}) has time {time} '
            f'here and {seen} on an earlier {unit}; BOP needs one time per '
            'image')


def _format(values: Iterable[float], precision: int) -> str:
    return ' '.join(f'{float(v):.{precision}g}' for v in values)


def write_bop_csv(path: str, rows: Iterable[Mapping[str, Any]],
                  precision: int = 10) -> int:
    """Write pose estimates to a BOP results CSV.

    Args:
        path: Output file; its folder is created. Use
            :func:`bop_result_filename` for a name the toolkit accepts.
        rows: Mappings with ``scene_id``, ``im_id``, ``obj_id`` (ints),
            ``R`` ((3, 3) or 9 floats, row-major), ``t`` (3 floats, mm),
            with ``x_cam = R @ x_model + t``, and optionally ``score``
            (default 1.0) and ``time`` (seconds spent on the whole image,
            default -1 for unknown; the same on every row of one image).
        precision: Significant digits of every float written.

    Returns:
        The number of rows written.

    Raises:
        BopCsvError: a row lacks a field, holds a non-finite pose, or gives
            one image two different times.
    """
    lines = [BOP_CSV_HEADER]
    times: Dict[Tuple[int, int], float] = {}
    for i, row in enumerate(rows):
        where = f'{path}: row {i}'
        missing = [k for k in ('scene_id', 'im_id', 'obj_id', 'R', 't')
                   if k not in row]
        if missing:
            raise BopCsvError(f'{where}: missing {", ".join(missing)}')
        ids = [int(row[k]) for k in ('scene_id', 'im_id', 'obj_id')]
        R = _floats(row['R'], 9, 'R', where)
        t = _floats(row['t'], 3, 't', where)
        score = float(row.get('score', 1.0))
        time = float(row.get('time', -1.0))
        _check_one_time(times, ids, time, where, 'row')
        lines.append(','.join([
            *map(str, ids), f'{score:.{precision}g}',
            _format(R, precision), _format(t, precision), f'{time:g}'
        ]))
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    return len(lines) - 1


def read_bop_csv(path: str) -> List[Dict[str, Any]]:
    """Read a BOP results CSV.

    Returns:
        One dict per line: ``scene_id``, ``im_id``, ``obj_id`` (int),
        ``score`` (float), ``R`` ((3, 3) float64), ``t`` ((3,) float64, mm),
        ``time`` (float, seconds).

    Raises:
        FileNotFoundError: the file does not exist.
        BopCsvError: wrong header, wrong number of columns, a value that is
            not a number, R or t with the wrong count, or two times for one
            image; the message names the file and line.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path}: BOP results CSV not found')
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BopCsvError(f'{path}: cannot read ({e})') from None
    if not text or text[0].strip().replace(' ', '') != BOP_CSV_HEADER:
        found = text[0].strip() if text else '(empty file)'
        raise BopCsvError(f'{path}:1: header must be {BOP_CSV_HEADER!r}, '
                          f'found {found!r}')
    rows: List[Dict[str, Any]] = []
    times: Dict[Tuple[int, int], float] = {}
    for lineno, line in enumerate(text[1:], start=2):
        if not line.strip():
            continue
        where = f'{path}:{lineno}'
        cols = line.split(',')
        if len(cols) != len(_FIELDS):
            raise BopCsvError(f'{where}: expected {len(_FIELDS)} '
                              f'comma-separated columns ({BOP_CSV_HEADER}), '
                              f'found {len(cols)}')
        try:
            ids = [int(c) for c in cols[:3]]
            score, time = float(cols[3]), float(cols[6])
        except ValueError:
            raise BopCsvError(f'{where}: scene_id, im_id, obj_id must be '
                              'integers and score, time numbers') from None
        R = _floats(_split_numbers(cols[4], 'R', where), 9, 'R', where)
        t = _floats(_split_numbers(cols[5], 't', where), 3, 't', where)
        _check_one_time(times, ids, time, where, 'line')
        rows.append(dict(scene_id=ids[0], im_id=ids[1], obj_id=ids[2],
                         score=score, R=R.reshape(3, 3), t=t, time=time))
    return rows


def _split_numbers(text: str, what: str, where: str) -> List[float]:
    try:
        return [float(v) for v in text.split()]
    except ValueError:
        raise BopCsvError(f'{where}: {what} must be space-separated numbers, '
                          f'found {text!r}') from None
