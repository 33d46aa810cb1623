"""ADD(-S) and friends as an MMEngine metric, with the table papers print."""
import logging
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from posessl.registry import METRICS
from posessl.structures import ObjectTable

from .. import functional as PF
from ..bop_csv import write_bop_csv

__all__ = ['ADDMetric']

#: LINEMOD's bowl and cup, left out of the classic 13-object mean.
_BOWL_CUP = (3, 7)


def _array(sample: Mapping, key: str, shape: Tuple[int, ...]) -> np.ndarray:
    """``sample[key]`` as a float64 array of ``shape``, or a clear error."""
    where = sample.get('img_path', f"im_id {sample.get('im_id', '?')}")
    if key not in sample or sample[key] is None:
        raise KeyError(f'ADDMetric: the data sample of {where} has no '
                       f'{key!r}; the model must set pred_R / pred_t and '
                       'the pipeline gt_R / gt_t / cam_K / obj_id')
    value = sample[key]
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != int(np.prod(shape)):
        raise ValueError(f'ADDMetric: {key} of {where} must have shape '
                         f'{shape}, got {arr.shape}')
    return arr.reshape(shape)


def _scalar(sample: Mapping, key: str, default: Any = None) -> Any:
    value = sample.get(key, default)
    if isinstance(value, torch.Tensor):
        value = value.item()
    return value


@METRICS.register_module()
class ADDMetric(BaseMetric):
    """ADD(-S), Proj2D, rotation / translation errors and 5cm5deg.

    Each object is scored with ADD, or with ADD-S when it is symmetric, and
    the paper table (objects as rows, ADD(-S) at 0.02/0.05/0.1 d, AUC,
    Proj2D@5px, 5cm5deg, median errors as columns) is logged. Accuracies
    are percentages; a pose is correct when its error is strictly below the
    threshold (as in the BOP toolkit). Predictions with NaN/inf values or a
    non-orthonormal rotation are failures: counted in ``num_invalid``,
    incorrect at every threshold, and left out of the mean and median
    errors.

    Returned keys (with the ``add/`` prefix): the means over objects of the
    per-object accuracies, ``ADD(-S)_0.02d``, ``ADD(-S)_0.05d``,
    ``ADD(-S)_0.1d``, ``ADD(-S)_AUC``, ``Proj2D_5px``, ``5cm5deg``; the
    error statistics over all valid predictions of those objects,
    ``ADD(-S)_mean_mm``, ``ADD(-S)_median_mm``, ``rot_err_mean_deg``,
    ``rot_err_median_deg``, ``trans_err_mean_mm``, ``trans_err_median_mm``;
    ``num_samples``, ``num_invalid``; and per object ``<name>/ADD_0.1d``
    (``ADD-S`` for symmetric objects) etc. When bowl (3) and cup (7) are
    among 15 evaluated objects, the means are the classic 13-object means.

    Args:
        symmetric_obj_ids: Objects scored with ADD-S. None: the dataset's
            ``symmetric_obj_ids`` (classic LINEMOD: 10, 11; BOP: 3, 7, 10,
            11), else eggbox and glue.
        thresholds: Fractions of the diameter for ADD(-S) accuracy.
        auc_max: Largest threshold (fraction of the diameter) of the AUC.
        auc_steps: None for the exact area, else the number of thresholds
            (see :func:`posessl.evaluation.functional.accuracy_auc`).
        proj2d_px: Proj2D threshold in pixels.
        cm_deg: ``(mm, degrees)`` of the translation/rotation criterion.
        models_dir: A BOP ``models`` folder (``models_info.json`` and
            ``obj_XXXXXX.ply``) to read model points and diameters from,
            for use without a dataset; overrides ``dataset_meta``.
        num_model_points: Points sampled (deterministically) per model when
            reading ``models_dir``.
        csv_file: When set, also write the BOP results CSV there.
        mean_exclude_obj_ids: Objects left out of the means. ``'auto'``:
            bowl and cup when they are among 15 evaluated objects.
        device: ``'auto'`` (CUDA when available), ``'cpu'`` or ``'cuda'``.
        ortho_tol: Largest ``|R^T R - I|`` entry of a valid rotation.
        error_split: Also score each part of the pose alone, at the largest
            threshold: ``R_only`` is the ADD(-S) accuracy of the predicted
            rotation with the ground-truth translation, ``t_only`` that of
            the ground-truth rotation with the predicted translation, and
            ``depth_err_median_mm`` the median ``|t_z - t_z*|``. Says which
            part sinks a pose (keys ``ADD(-S)_<k>d_R_only``, ``..._t_only``,
            per object too; three more table columns).
        collect_device, prefix, collect_dir: See
            :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = 'add'

    def __init__(self,
                 symmetric_obj_ids: Optional[Sequence[int]] = None,
                 thresholds: Sequence[float] = (0.02, 0.05, 0.1),
                 auc_max: float = 0.1,
                 auc_steps: Optional[int] = None,
                 proj2d_px: float = 5.0,
                 cm_deg: Tuple[float, float] = (50.0, 5.0),
                 models_dir: Optional[str] = None,
                 num_model_points: int = 3000,
                 csv_file: Optional[str] = None,
                 mean_exclude_obj_ids: Union[str, Sequence[int]] = 'auto',
                 device: str = 'auto',
                 ortho_tol: float = PF.DEFAULT_ORTHO_TOL,
                 error_split: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if not thresholds or any(k <= 0 for k in thresholds):
            raise ValueError('ADDMetric: thresholds must be positive '
                             f'fractions of the diameter, got {thresholds}')
        if device not in ('auto', 'cpu', 'cuda'):
            raise ValueError("ADDMetric: device must be 'auto', 'cpu' or "
                             f"'cuda', got {device!r}")
        if (isinstance(mean_exclude_obj_ids, str)
                and mean_exclude_obj_ids != 'auto'):
            raise ValueError("ADDMetric: mean_exclude_obj_ids must be 'auto' "
                             'or a list of object ids')
        self.symmetric_obj_ids = (None if symmetric_obj_ids is None else
                                  tuple(int(i) for i in symmetric_obj_ids))
        self.thresholds = tuple(float(k) for k in thresholds)
        self.auc_max = float(auc_max)
        self.auc_steps = auc_steps
        self.proj2d_px = float(proj2d_px)
        self.cm_deg = (float(cm_deg[0]), float(cm_deg[1]))
        self.models_dir = models_dir
        self.num_model_points = int(num_model_points)
        self.csv_file = csv_file
        self.mean_exclude_obj_ids = mean_exclude_obj_ids
        self.device = device
        self.ortho_tol = float(ortho_tol)
        self.error_split = bool(error_split)
        self._models_table: Optional[ObjectTable] = None

    # ------------------------------------------------------------ process
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep the poses, ids and camera of each sample (small, CPU)."""
        for sample in data_samples:
            if hasattr(sample, 'to_dict'):
                sample = sample.to_dict()
            obj_id = _scalar(sample, 'obj_id')
            if obj_id is None:
                raise KeyError('ADDMetric: a data sample of '
                               f"{sample.get('img_path', '?')} has no obj_id")
            score = _scalar(sample, 'pred_score', 1.0)
            self.results.append(dict(
                obj_id=int(obj_id),
                scene_id=int(_scalar(sample, 'scene_id', -1)),
                im_id=int(_scalar(sample, 'im_id', -1)),
                score=float(score),
                pred_R=_array(sample, 'pred_R', (3, 3)),
                pred_t=_array(sample, 'pred_t', (3, )),
                gt_R=_array(sample, 'gt_R', (3, 3)),
                gt_t=_array(sample, 'gt_t', (3, )),
                cam_K=_array(sample, 'cam_K', (3, 3))))

    # ------------------------------------------------------------ objects
    def _object_table(self) -> ObjectTable:
        """The objects: from ``models_dir`` (read once) where given, else
        from ``dataset_meta``, both through :class:`ObjectTable`."""
        if self.models_dir is not None:
            if self._models_table is None:
                self._models_table = ObjectTable.from_models_dir(
                    self.models_dir, self.num_model_points,
                    self.symmetric_obj_ids)
            return self._models_table
        meta = dict(self.dataset_meta or {})
        if 'model_points' not in meta or 'diameters' not in meta:
            raise ValueError(
                'ADDMetric needs model points and diameters: the dataset '
                "metainfo must hold 'model_points' and 'diameters' (set by "
                'the test loop), or pass models_dir=<BOP models folder>')
        return ObjectTable.from_metainfo(meta, self.symmetric_obj_ids)

    def _objects(self, obj_ids: Sequence[int]
                 ) -> Tuple[ObjectTable, List[int]]:
        """The object table and the evaluated objects in its row order."""
        table = self._object_table()
        for obj_id in obj_ids:
            if obj_id not in table:
                raise ValueError(
                    f'ADDMetric: no model points or diameter for object '
                    f'{obj_id} in {table.source} (it has objects '
                    f'{list(table.obj_ids)})')
        order = [i for i in table.obj_ids if i in set(obj_ids)]
        return table, order

    def _mean_ids(self, order: List[int]) -> List[int]:
        if self.mean_exclude_obj_ids == 'auto':
            drop = (set(_BOWL_CUP) if set(_BOWL_CUP) <= set(order)
                    and len(order) == 15 else set())
        else:
            drop = {int(i) for i in self.mean_exclude_obj_ids}
        kept = [i for i in order if i not in drop]
        return kept or order

    # ------------------------------------------------------------ compute
    def _device(self) -> torch.device:
        if self.device == 'auto':
            return torch.device('cuda' if torch.cuda.is_available() else
                                'cpu')
        return torch.device(self.device)

    def _object_errors(self, rows: List[dict], points: np.ndarray,
                       diameter: float, symmetric: bool,
                       device: torch.device) -> Dict[str, Any]:
        """Errors and accuracies of one object's predictions."""
        stack = {k: torch.as_tensor(np.stack([r[k] for r in rows]),
                                    device=device)
                 for k in ('pred_R', 'pred_t', 'gt_R', 'gt_t', 'cam_K')}
        pts = torch.as_tensor(np.asarray(points, dtype=np.float64),
                              device=device)
        poses = (stack['pred_R'], stack['pred_t'], stack['gt_R'],
                 stack['gt_t'])
        kw = dict(tol=self.ortho_tol)
        fn = PF.adds_error if symmetric else PF.add_error
        add = fn(pts, *poses, **kw)
        proj = PF.proj2d_error(pts, *poses, stack['cam_K'], **kw)
        rot = PF.rotation_error(stack['pred_R'], stack['gt_R'], **kw)
        trans = PF.translation_error(stack['pred_t'], stack['gt_t'],
                                     pred_R=stack['pred_R'], **kw)
        valid = torch.isfinite(add)
        acc = PF.accuracy_at(add, diameter, self.thresholds)
        split = {}
        if self.error_split:
            pred_R, pred_t, gt_R, gt_t = poses
            k = [max(self.thresholds)]
            for key, pose in (('R_only', (pred_R, gt_t, gt_R, gt_t)),
                              ('t_only', (gt_R, pred_t, gt_R, gt_t))):
                split[key] = 100.0 * float(PF.accuracy_at(
                    fn(pts, *pose, **kw), diameter, k)[0])
            split['depth'] = (pred_t[:, 2] - gt_t[:, 2]).abs().cpu()
        return dict(**split,
            add=add.cpu(), rot=rot.cpu(), trans=trans.cpu(),
            valid=valid.cpu(),
            acc=[100.0 * float(a) for a in acc],
            auc=100.0 * PF.accuracy_auc(add, diameter, self.auc_max,
                                        self.auc_steps),
            proj=100.0 * float(PF.accuracy_at(proj, 1.0,
                                              [self.proj2d_px])[0]),
            cmdeg=100.0 * PF.cm_deg_accuracy(rot, trans, self.cm_deg[1],
                                             self.cm_deg[0]),
            n=len(rows), invalid=int((~valid).sum()))

    @staticmethod
    def _stat(values: torch.Tensor, valid: torch.Tensor, how: str) -> float:
        v = values[valid].double().cpu().numpy()
        if len(v) == 0:  # every prediction failed: infinitely wrong
            return math.inf
        # np.median averages the two middle values (torch's takes the lower)
        return float(v.mean() if how == 'mean' else np.median(v))

    def _stats(self, errors: Sequence[Dict[str, Any]]) -> Dict[str, float]:
        """Mean / median errors over the valid predictions of ``errors``."""
        valid = torch.cat([e['valid'] for e in errors])
        out = {}
        for key, name in (('add', 'ADD(-S)_{}_mm'), ('rot', 'rot_err_{}_deg'),
                          ('trans', 'trans_err_{}_mm')):
            values = torch.cat([e[key] for e in errors])
            for how in ('mean', 'median'):
                out[name.format(how)] = self._stat(values, valid, how)
        return out

    def _depth_median(self, errors: Sequence[Dict[str, Any]]) -> float:
        """Median ``|t_z - t_z*|`` (mm) over the valid predictions."""
        return self._stat(torch.cat([e['depth'] for e in errors]),
                          torch.cat([e['valid'] for e in errors]), 'median')

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score every object, log the table, write the CSV if asked."""
        if not results:
            raise ValueError('ADDMetric: no predictions to evaluate')
        obj_ids = sorted({r['obj_id'] for r in results})
        table, order = self._objects(obj_ids)
        names = {i: table.name(i) for i in order}
        device = self._device()
        per_obj: Dict[int, Dict[str, Any]] = {}
        for obj_id in order:
            rows = [r for r in results if r['obj_id'] == obj_id]
            symmetric = table.is_symmetric(obj_id)
            per_obj[obj_id] = self._object_errors(
                rows, table.object_points(obj_id), table.diameter(obj_id),
                symmetric, device)
            per_obj[obj_id]['symmetric'] = symmetric
        mean_ids = self._mean_ids(order)

        metrics: Dict[str, float] = {}
        for i, k in enumerate(self.thresholds):
            metrics[f'ADD(-S)_{k:g}d'] = float(
                np.mean([per_obj[o]['acc'][i] for o in mean_ids]))
        for key, name in (('auc', 'ADD(-S)_AUC'),
                          ('proj', f'Proj2D_{self.proj2d_px:g}px'),
                          ('cmdeg', self._cmdeg_name())):
            metrics[name] = float(
                np.mean([per_obj[o][key] for o in mean_ids]))
        metrics.update(self._stats([per_obj[o] for o in mean_ids]))
        k_max = max(self.thresholds)
        if self.error_split:
            for part in ('R_only', 't_only'):
                metrics[f'ADD(-S)_{k_max:g}d_{part}'] = float(
                    np.mean([per_obj[o][part] for o in mean_ids]))
            metrics['depth_err_median_mm'] = self._depth_median(
                [per_obj[o] for o in mean_ids])
        metrics['num_samples'] = len(results)
        metrics['num_invalid'] = sum(e['invalid'] for e in per_obj.values())
        for obj_id in order:
            e, name = per_obj[obj_id], names[obj_id]
            kind = 'ADD-S' if e['symmetric'] else 'ADD'
            for i, k in enumerate(self.thresholds):
                metrics[f'{name}/{kind}_{k:g}d'] = e['acc'][i]
            metrics[f'{name}/{kind}_AUC'] = e['auc']
            metrics[f'{name}/Proj2D_{self.proj2d_px:g}px'] = e['proj']
            metrics[f'{name}/{self._cmdeg_name()}'] = e['cmdeg']
            if self.error_split:
                for part in ('R_only', 't_only'):
                    metrics[f'{name}/{kind}_{k_max:g}d_{part}'] = e[part]

        print_log('\n' + self._table(per_obj, order, mean_ids, names),
                  logger='current')
        if metrics['num_invalid']:
            print_log(f"ADDMetric: {metrics['num_invalid']} invalid "
                      'predictions (NaN/inf or non-orthonormal R) counted '
                      'as failures', logger='current', level=logging.WARNING)
        if self.csv_file:
            count = write_bop_csv(self.csv_file, [
                dict(scene_id=r['scene_id'], im_id=r['im_id'],
                     obj_id=r['obj_id'], score=r['score'], R=r['pred_R'],
                     t=r['pred_t'], time=-1) for r in results
                if np.isfinite(r['pred_R']).all()
                and np.isfinite(r['pred_t']).all()
            ])
            print_log(f'ADDMetric: wrote {count} poses to {self.csv_file}',
                      logger='current')
        return metrics

    def _cmdeg_name(self) -> str:
        mm, deg = self.cm_deg
        return f'{mm / 10:g}cm{deg:g}deg'

    def _table(self, per_obj: Dict[int, Dict[str, Any]], order: List[int],
               mean_ids: List[int], names: Dict[int, str]) -> str:
        """The per-object table, laid out as in the papers."""
        head = (['Object', 'metric'] + [f'{k:g}d' for k in self.thresholds] +
                ['AUC', f'Proj2D@{self.proj2d_px:g}px', self._cmdeg_name(),
                 'R med(deg)', 't med(mm)', 'N', 'invalid'])
        k_max = max(self.thresholds)
        if self.error_split:
            head[-2:-2] = [f'R only@{k_max:g}d', f't only@{k_max:g}d',
                           'tz med(mm)']

        def row(label: str, kind: str, objs: List[int]) -> List[str]:
            es = [per_obj[o] for o in objs]
            stats = self._stats(es)
            cells = [label, kind]
            cells += [f"{np.mean([e['acc'][i] for e in es]):.2f}"
                      for i in range(len(self.thresholds))]
            cells += [f"{np.mean([e[k] for e in es]):.2f}"
                      for k in ('auc', 'proj', 'cmdeg')]
            cells += [f"{stats['rot_err_median_deg']:.2f}",
                      f"{stats['trans_err_median_mm']:.2f}"]
            if self.error_split:
                cells += [f"{np.mean([e['R_only'] for e in es]):.2f}",
                          f"{np.mean([e['t_only'] for e in es]):.2f}",
                          f'{self._depth_median(es):.2f}']
            cells += [str(sum(e['n'] for e in es)),
                      str(sum(e['invalid'] for e in es))]
            return cells

        body = [row(names[o], 'ADD-S' if per_obj[o]['symmetric'] else 'ADD',
                    [o]) for o in order]
        footer = [row(f'Mean ({len(mean_ids)} obj)', 'ADD(-S)', mean_ids)]
        if len(mean_ids) != len(order):
            footer.append(row(f'Mean (all {len(order)})', 'ADD(-S)', order))
        table = [head] + body + footer
        widths = [max(len(r[c]) for r in table) for c in range(len(head))]

        def fmt(cells: List[str]) -> str:
            return '  '.join(c.ljust(w) if j < 2 else c.rjust(w)
                             for j, (c, w) in enumerate(zip(cells, widths)))

        rule = '-' * len(fmt(head))
        lines = ['ADD(-S) accuracy (%) per object', rule, fmt(head), rule]
        lines += [fmt(r) for r in body] + [rule] + [fmt(r) for r in footer]
        return '\n'.join(lines + [rule])
