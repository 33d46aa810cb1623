"""``ADDMetric``: ADD(-S) and friends as an MMEngine metric (scoring in
:mod:`~posessl.evaluation.scoring`, table and CSV in
:mod:`~posessl.evaluation.reporting`)."""
import logging
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, print_log

from posessl.registry import METRICS
from posessl.structures import ObjectTable

from .. import functional as PF
from ..reporting import format_table, write_results_csv
from ..scoring import (
    ScoreSettings,
    mean_obj_ids,
    metric_values,
    score_results,
)

__all__ = ['ADDMetric', 'TEST_STEP_START', 'test_step_seconds']

#: Message hub runtime info: ``time.perf_counter()`` at the start of the
#: running test step (``BopTimeHook``), None outside one.
TEST_STEP_START = 'posessl_test_step_start'


def test_step_seconds() -> Optional[float]:
    """Wall time since the start of the running test step (after a CUDA
    synchronisation where CUDA is in use), or None where ``BopTimeHook``
    recorded none."""
    start = MessageHub.get_current_instance().get_info(TEST_STEP_START)
    if start is None:
        return None
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.perf_counter() - start


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
    """``sample[key]`` as a Python scalar (``default`` when absent)."""
    value = sample.get(key, default)
    if isinstance(value, torch.Tensor):
        value = value.item()
    return value


@METRICS.register_module()
class ADDMetric(BaseMetric):
    """ADD(-S), Proj2D, rotation / translation errors and 5cm5deg.

    Symmetric objects are scored with ADD-S, others with ADD, and the
    per-object table is logged (and kept in :attr:`table`). Accuracies are
    percentages; a pose is correct when its error is strictly below the
    threshold. Predictions with NaN/inf values or a non-orthonormal
    rotation are failures: counted in ``num_invalid``, incorrect at every
    threshold, and left out of the mean and median errors.

    Returned keys (prefix ``add/``): the means over objects of
    ``ADD(-S)_<k>d`` for each threshold, ``ADD(-S)_AUC``, ``Proj2D_5px``,
    ``5cm5deg``; over all valid predictions ``ADD(-S)_mean_mm``,
    ``ADD(-S)_median_mm``, ``rot_err_mean_deg``, ``rot_err_median_deg``,
    ``trans_err_mean_mm``, ``trans_err_median_mm``; ``num_samples``,
    ``num_invalid``; and per object ``<name>/ADD_0.1d`` (``ADD-S`` for
    symmetric objects) etc.

    Args:
        symmetric_obj_ids: Objects scored with ADD-S. None: those the
            objects declare (:class:`~posessl.structures.ObjectTable`).
        thresholds: Fractions of the diameter for ADD(-S) accuracy.
        auc_max: Largest threshold (fraction of the diameter) of the AUC.
        auc_steps: None for the exact area, else the number of thresholds
            (:func:`posessl.evaluation.functional.accuracy_auc`).
        proj2d_px: Proj2D threshold in pixels.
        cm_deg: ``(mm, degrees)`` of the translation/rotation criterion.
        models_dir: A BOP ``models`` folder to read the objects from,
            overriding ``dataset_meta`` (see :attr:`objects`).
        num_model_points: Points sampled (deterministically) per model when
            reading a ``models_dir``.
        csv_file: Also write the BOP results CSV there; its ``score`` is
            the sample's ``pred_score`` (1 without one), its per-image
            ``time`` comes from ``BopTimeHook`` (-1 without it).
        mean_exclude_obj_ids: Objects left out of the means. ``'auto'``:
            bowl (3) and cup (7) when they are among 15 evaluated objects
            (the classic 13-object means).
        device: ``'auto'`` (CUDA when available), ``'cpu'`` or ``'cuda'``.
        ortho_tol: Largest ``|R^T R - I|`` entry of a valid rotation.
        error_split: Also score each part of the pose alone at the largest
            threshold: ``ADD(-S)_<k>d_R_only`` (predicted rotation, true
            translation), ``..._t_only`` (true rotation, predicted
            translation), and ``depth_err_median_mm`` (median
            ``|t_z - t_z*|``); per object too.
        collect_device, prefix, collect_dir: See
            :class:`mmengine.evaluator.BaseMetric`.

    Raises:
        ValueError: a threshold is not positive, or ``device`` or
            ``mean_exclude_obj_ids`` is not one of the accepted values.
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
        #: the per-object table of the last evaluation, as logged
        self.table: Optional[str] = None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep the poses, ids and camera of each sample, and its equal
        share of the test step's time where ``BopTimeHook`` marked it (else
        the sample's own ``time``, else -1).

        Raises:
            KeyError: a sample lacks ``obj_id``, a pose or ``cam_K``.
            ValueError: a pose or ``cam_K`` has the wrong size.
        """
        elapsed = test_step_seconds()
        share = None if elapsed is None else elapsed / max(
            len(data_samples), 1)
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
                time=share if share is not None else float(
                    _scalar(sample, 'time', -1.0)),
                pred_R=_array(sample, 'pred_R', (3, 3)),
                pred_t=_array(sample, 'pred_t', (3, )),
                gt_R=_array(sample, 'gt_R', (3, 3)),
                gt_t=_array(sample, 'gt_t', (3, )),
                cam_K=_array(sample, 'cam_K', (3, 3))))

    @property
    def objects(self) -> ObjectTable:
        """The objects it scores with: those of ``models_dir``, else of
        ``dataset_meta``'s ``models_dir`` (read once per process), else of
        its ``model_points`` and ``diameters``.

        Raises:
            ValueError: none of these is given.
        """
        meta = self.dataset_meta or {}
        folder = self.models_dir or meta.get('models_dir')
        if folder:
            return ObjectTable.from_models_dir(
                folder, self.num_model_points, self.symmetric_obj_ids)
        if 'model_points' not in meta or 'diameters' not in meta:
            raise ValueError(
                'ADDMetric needs the objects: the dataset metainfo (set by '
                "the test loop) must hold 'models_dir' or 'model_points' "
                "and 'diameters', or pass models_dir=<BOP models folder>")
        return ObjectTable.from_metainfo(meta, self.symmetric_obj_ids)

    def _device(self) -> torch.device:
        if self.device == 'auto':
            return torch.device('cuda' if torch.cuda.is_available() else
                                'cpu')
        return torch.device(self.device)

    def score(self, results: List[dict]) -> Tuple[Dict[str, float], str]:
        """The metrics of ``results`` (dicts as :meth:`process` keeps them)
        and their per-object table as text; logs and writes nothing.

        Raises:
            ValueError: ``results`` is empty, or an object is missing from
                :attr:`objects`.
        """
        if not results:
            raise ValueError('ADDMetric: no predictions to evaluate')
        table = self.objects
        for obj_id in sorted({r['obj_id'] for r in results}):
            if obj_id not in table:
                raise ValueError(
                    f'ADDMetric: no model points or diameter for object '
                    f'{obj_id} in {table.source} (it has objects '
                    f'{list(table.obj_ids)})')
        scores = score_results(results, table, self.settings, self._device())
        mean_ids = mean_obj_ids(list(scores), self.mean_exclude_obj_ids)
        metrics = metric_values(scores, mean_ids, self.settings,
                                len(results))
        return metrics, format_table(scores, mean_ids, self.settings)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score every object, log the table, write the CSV if asked."""
        metrics, text = self.score(results)
        self.table = text
        print_log('\n' + text, logger='current')
        if metrics['num_invalid']:
            print_log(f"ADDMetric: {metrics['num_invalid']} invalid "
                      'predictions (NaN/inf or non-orthonormal R) counted '
                      'as failures', logger='current', level=logging.WARNING)
        if self.csv_file:
            count = write_results_csv(self.csv_file, results)
            print_log(f'ADDMetric: wrote {count} poses to {self.csv_file}',
                      logger='current')
        return metrics

    @property
    def settings(self) -> ScoreSettings:
        """The scoring settings of this metric's arguments."""
        return ScoreSettings(
            thresholds=self.thresholds, auc_max=self.auc_max,
            auc_steps=self.auc_steps, proj2d_px=self.proj2d_px,
            cm_deg=self.cm_deg, ortho_tol=self.ortho_tol,
            error_split=self.error_split)
