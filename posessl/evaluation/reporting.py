"""Reporting scored pose results: the per-object table of
:mod:`~posessl.evaluation.scoring`'s scores and the BOP results CSV."""
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from .bop_csv import write_bop_csv
from .scoring import (
    ObjectScores,
    ScoreSettings,
    depth_median,
    error_statistics,
)

__all__ = ['format_table', 'image_times', 'write_results_csv']


def _row(label: str, kind: str, scores: List[ObjectScores],
         settings: ScoreSettings) -> List[str]:
    """The table cells of one object, or of the mean over ``scores``."""
    stats = error_statistics(scores)
    cells = [label, kind]
    cells += [f'{np.mean([s.acc[i] for s in scores]):.2f}'
              for i in range(len(settings.thresholds))]
    cells += [f'{np.mean([getattr(s, k) for s in scores]):.2f}'
              for k in ('auc', 'proj', 'cmdeg')]
    cells += [f"{stats['rot_err_median_deg']:.2f}",
              f"{stats['trans_err_median_mm']:.2f}"]
    if settings.error_split:
        cells += [f'{np.mean([s.R_only for s in scores]):.2f}',
                  f'{np.mean([s.t_only for s in scores]):.2f}',
                  f'{depth_median(scores):.2f}']
    cells += [str(sum(s.n for s in scores)),
              str(sum(s.invalid for s in scores))]
    return cells


def format_table(scores: Mapping[int, ObjectScores],
                 mean_ids: Sequence[int], settings: ScoreSettings) -> str:
    """The per-object table (objects as rows; ADD(-S) at each threshold,
    AUC, Proj2D, cm/deg, median errors and counts as columns; accuracies in
    percent) with a footer of the mean over ``mean_ids`` (and over every
    object when some are left out of it).

    Args:
        scores: Per-object scores, in table order.
        mean_ids: The objects of the mean.
        settings: The settings the scores were computed with.
    """
    head = (['Object', 'metric'] + [f'{k:g}d' for k in settings.thresholds]
            + ['AUC', f'Proj2D@{settings.proj2d_px:g}px',
               settings.cmdeg_name, 'R med(deg)', 't med(mm)', 'N',
               'invalid'])
    if settings.error_split:
        k_max = settings.k_max
        head[-2:-2] = [f'R only@{k_max:g}d', f't only@{k_max:g}d',
                       'tz med(mm)']
    body = [_row(s.name, 'ADD-S' if s.symmetric else 'ADD', [s], settings)
            for s in scores.values()]
    footer = [_row(f'Mean ({len(mean_ids)} obj)', 'ADD(-S)',
                   [scores[o] for o in mean_ids], settings)]
    if len(mean_ids) != len(scores):
        footer.append(_row(f'Mean (all {len(scores)})', 'ADD(-S)',
                           list(scores.values()), settings))
    rows = [head] + body + footer
    widths = [max(len(r[c]) for r in rows) for c in range(len(head))]

    def fmt(cells: List[str]) -> str:
        return '  '.join(c.ljust(w) if j < 2 else c.rjust(w)
                         for j, (c, w) in enumerate(zip(cells, widths)))

    rule = '-' * len(fmt(head))
    lines = ['ADD(-S) accuracy (%) per object', rule, fmt(head), rule]
    lines += [fmt(r) for r in body] + [rule] + [fmt(r) for r in footer]
    return '\n'.join(lines + [rule])


def image_times(results: Sequence[Dict]) -> Dict[Tuple[int, int], float]:
    """The seconds spent on each image ``(scene_id, im_id)``: the sum of
    its samples' ``time`` (each sample's share of its test batch), or -1
    where a sample's time is unknown (absent or negative)."""
    times: Dict[Tuple[int, int], float] = {}
    for r in results:
        key = (r['scene_id'], r['im_id'])
        spent = float(r.get('time', -1.0))
        if spent < 0 or times.get(key, 0.0) < 0:
            times[key] = -1.0
        else:
            times[key] = times.get(key, 0.0) + spent
    return times


def write_results_csv(path: str, results: Sequence[Dict]) -> int:
    """Write the predictions of ``results`` (``scene_id``, ``im_id``,
    ``obj_id``, ``score``, ``pred_R``, ``pred_t``, ``time``) whose pose is
    finite as a BOP results CSV; return the number of rows written.

    Every row of one image carries its :func:`image_times` time, that of
    all its objects (also those whose pose was not finite).
    """
    times = image_times(results)
    return write_bop_csv(path, [
        dict(scene_id=r['scene_id'], im_id=r['im_id'], obj_id=r['obj_id'],
             score=r['score'], R=r['pred_R'], t=r['pred_t'],
             time=times[(r['scene_id'], r['im_id'])])
        for r in results
        if np.isfinite(r['pred_R']).all() and np.isfinite(r['pred_t']).all()
    ])
