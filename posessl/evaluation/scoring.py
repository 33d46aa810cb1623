"""Per-object scores of collected pose results, and the metric's keys.

A collected result (as ``ADDMetric.process`` keeps it) is a dict with
``obj_id`` and float64 arrays ``pred_R``, ``gt_R``, ``cam_K`` (3, 3) and
``pred_t``, ``gt_t`` (3,) in mm.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from posessl.structures import ObjectTable

from . import functional as PF

__all__ = [
    'BOWL_CUP', 'ScoreSettings', 'ObjectScores', 'score_object',
    'score_results', 'mean_obj_ids', 'error_statistics', 'depth_median',
    'metric_values'
]

#: LINEMOD's bowl and cup, left out of the classic 13-object mean.
BOWL_CUP = (3, 7)

#: The pose arrays of a collected result that scoring stacks.
_POSE_KEYS = ('pred_R', 'pred_t', 'gt_R', 'gt_t', 'cam_K')


@dataclass(frozen=True)
class ScoreSettings:
    """Thresholds and options of the scores (see ``ADDMetric``'s arguments
    of the same names)."""

    thresholds: Tuple[float, ...] = (0.02, 0.05, 0.1)
    auc_max: float = 0.1
    auc_steps: Optional[int] = None
    proj2d_px: float = 5.0
    cm_deg: Tuple[float, float] = (50.0, 5.0)
    ortho_tol: float = PF.DEFAULT_ORTHO_TOL
    error_split: bool = False

    @property
    def k_max(self) -> float:
        """The largest threshold (the one the error split uses)."""
        return max(self.thresholds)

    @property
    def cmdeg_name(self) -> str:
        """``5cm5deg`` for the default ``cm_deg``."""
        mm, deg = self.cm_deg
        return f'{mm / 10:g}cm{deg:g}deg'


@dataclass
class ObjectScores:
    """One object's scores: accuracies in percent (``acc`` per threshold;
    ``R_only`` / ``t_only``: at the largest threshold with the GT translation
    / rotation, only with ``error_split``); (n,) float64 CPU errors ``add``,
    ``trans``, ``depth`` (mm, inf if invalid) and ``rot`` (degrees);
    ``valid``: the finite ``add``."""

    name: str
    symmetric: bool
    n: int
    invalid: int
    acc: List[float]
    auc: float
    proj: float
    cmdeg: float
    add: torch.Tensor
    rot: torch.Tensor
    trans: torch.Tensor
    valid: torch.Tensor
    R_only: Optional[float] = None
    t_only: Optional[float] = None
    depth: Optional[torch.Tensor] = None


def score_object(results: Sequence[Mapping], points: np.ndarray,
                 diameter: float, symmetric: bool, settings: ScoreSettings,
                 device: torch.device, name: str = '') -> ObjectScores:
    """Scores of one object's results (ADD-S if ``symmetric``) with its
    (N, 3) model ``points`` and ``diameter`` (mm), computed on ``device``.
    """
    stack = {k: torch.as_tensor(np.stack([r[k] for r in results]),
                                device=device)
             for k in _POSE_KEYS}
    pts = torch.as_tensor(np.asarray(points, dtype=np.float64),
                          device=device)
    poses = (stack['pred_R'], stack['pred_t'], stack['gt_R'],
             stack['gt_t'])
    kw = dict(tol=settings.ortho_tol)
    fn = PF.adds_error if symmetric else PF.add_error
    add = fn(pts, *poses, **kw)
    proj = PF.proj2d_error(pts, *poses, stack['cam_K'], **kw)
    rot = PF.rotation_error(stack['pred_R'], stack['gt_R'], **kw)
    trans = PF.translation_error(stack['pred_t'], stack['gt_t'],
                                 pred_R=stack['pred_R'], **kw)
    valid = torch.isfinite(add)
    acc = PF.accuracy_at(add, diameter, settings.thresholds)
    split = {}
    if settings.error_split:
        pred_R, pred_t, gt_R, gt_t = poses
        for key, pose in (('R_only', (pred_R, gt_t, gt_R, gt_t)),
                          ('t_only', (gt_R, pred_t, gt_R, gt_t))):
            split[key] = 100.0 * float(PF.accuracy_at(
                fn(pts, *pose, **kw), diameter, [settings.k_max])[0])
        split['depth'] = (pred_t[:, 2] - gt_t[:, 2]).abs().cpu()
    mm, deg = settings.cm_deg
    return ObjectScores(
        name=name, symmetric=bool(symmetric), n=len(results),
        invalid=int((~valid).sum()),
        acc=[100.0 * float(a) for a in acc],
        auc=100.0 * PF.accuracy_auc(add, diameter, settings.auc_max,
                                    settings.auc_steps),
        proj=100.0 * float(PF.accuracy_at(proj, 1.0,
                                          [settings.proj2d_px])[0]),
        cmdeg=100.0 * PF.cm_deg_accuracy(rot, trans, deg, mm),
        add=add.cpu(), rot=rot.cpu(), trans=trans.cpu(), valid=valid.cpu(),
        **split)


def score_results(results: Sequence[Mapping], table: ObjectTable,
                  settings: ScoreSettings, device: torch.device
                  ) -> Dict[int, ObjectScores]:
    """Scores of every object of ``results``, in ``table``'s row order
    (KeyError for an object not in ``table``)."""
    present = {int(r['obj_id']) for r in results}
    for obj_id in present:
        table.row(obj_id)
    scores = {}
    for obj_id in (i for i in table.obj_ids if i in present):
        rows = [r for r in results if r['obj_id'] == obj_id]
        scores[obj_id] = score_object(
            rows, table.object_points(obj_id), table.diameter(obj_id),
            table.is_symmetric(obj_id), settings, device,
            name=table.name(obj_id))
    return scores


def mean_obj_ids(order: Sequence[int],
                 exclude: Union[str, Sequence[int]] = 'auto') -> List[int]:
    """``order`` without ``exclude`` (all of it if nothing would be left);
    ``'auto'`` excludes bowl and cup where all 15 LINEMOD objects are
    evaluated (the classic 13-object mean)."""
    if isinstance(exclude, str):
        drop = (set(BOWL_CUP) if set(BOWL_CUP) <= set(order)
                and len(order) == 15 else set())
    else:
        drop = {int(i) for i in exclude}
    kept = [i for i in order if i not in drop]
    return kept or list(order)


def _stat(values: torch.Tensor, valid: torch.Tensor, how: str) -> float:
    """Mean or median of ``values[valid]``; inf when nothing is valid."""
    v = values[valid].double().cpu().numpy()
    if len(v) == 0:  # every prediction failed: infinitely wrong
        return math.inf
    # np.median averages the two middle values (torch's takes the lower)
    return float(v.mean() if how == 'mean' else np.median(v))


def error_statistics(scores: Sequence[ObjectScores]) -> Dict[str, float]:
    """Mean / median ADD(-S), rotation and translation errors over the
    valid predictions of ``scores`` (keys ``ADD(-S)_mean_mm``, ...)."""
    valid = torch.cat([s.valid for s in scores])
    out = {}
    for key, name in (('add', 'ADD(-S)_{}_mm'), ('rot', 'rot_err_{}_deg'),
                      ('trans', 'trans_err_{}_mm')):
        values = torch.cat([getattr(s, key) for s in scores])
        for how in ('mean', 'median'):
            out[name.format(how)] = _stat(values, valid, how)
    return out


def depth_median(scores: Sequence[ObjectScores]) -> float:
    """Median ``|t_z - t_z*|`` (mm) over the valid predictions (needs the
    error split)."""
    return _stat(torch.cat([s.depth for s in scores]),
                 torch.cat([s.valid for s in scores]), 'median')


def metric_values(scores: Mapping[int, ObjectScores],
                  mean_ids: Sequence[int], settings: ScoreSettings,
                  num_samples: int) -> Dict[str, float]:
    """The metric's keys without prefix, in logging order: means over
    ``mean_ids``, error statistics, counts, then per-object accuracies."""
    means = [scores[o] for o in mean_ids]
    proj_name = f'Proj2D_{settings.proj2d_px:g}px'
    out: Dict[str, float] = {}
    for i, k in enumerate(settings.thresholds):
        out[f'ADD(-S)_{k:g}d'] = float(np.mean([s.acc[i] for s in means]))
    for key, name in (('auc', 'ADD(-S)_AUC'), ('proj', proj_name),
                      ('cmdeg', settings.cmdeg_name)):
        out[name] = float(np.mean([getattr(s, key) for s in means]))
    out.update(error_statistics(means))
    k_max = settings.k_max
    parts = ('R_only', 't_only') if settings.error_split else ()
    for part in parts:
        out[f'ADD(-S)_{k_max:g}d_{part}'] = float(
            np.mean([getattr(s, part) for s in means]))
    if settings.error_split:
        out['depth_err_median_mm'] = depth_median(means)
    out['num_samples'] = num_samples
    out['num_invalid'] = sum(s.invalid for s in scores.values())
    for s in scores.values():
        kind = 'ADD-S' if s.symmetric else 'ADD'
        for i, k in enumerate(settings.thresholds):
            out[f'{s.name}/{kind}_{k:g}d'] = s.acc[i]
        out[f'{s.name}/{kind}_AUC'] = s.auc
        out[f'{s.name}/{proj_name}'] = s.proj
        out[f'{s.name}/{settings.cmdeg_name}'] = s.cmdeg
        for part in parts:
            out[f'{s.name}/{kind}_{k_max:g}d_{part}'] = getattr(s, part)
    return out
