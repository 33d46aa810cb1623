"""The scoring and reporting steps of ADDMetric, called directly on
hand-made results whose errors are known."""
import math

import numpy as np
import pytest
import torch

from posessl.evaluation.bop_csv import read_bop_csv
from posessl.evaluation.reporting import format_table, write_results_csv
from posessl.evaluation.scoring import (
    ObjectScores,
    ScoreSettings,
    mean_obj_ids,
    metric_values,
    score_object,
    score_results,
)
from posessl.structures import ObjectTable
from tests.cameras import LINEMOD_K

CPU = torch.device('cpu')


def _result(obj_id: int, dx: float, im_id: int = 0) -> dict:
    """Identity rotation, prediction shifted by ``dx`` mm along x: every
    error (ADD, ADD-S upper bound, translation) is ``dx``."""
    return dict(obj_id=obj_id, scene_id=1, im_id=im_id, score=1.0,
                pred_R=np.eye(3), pred_t=np.array([dx, 0.0, 800.0]),
                gt_R=np.eye(3), gt_t=np.array([0.0, 0.0, 800.0]),
                cam_K=LINEMOD_K)


def _table() -> ObjectTable:
    pts = np.array([[10.0, 0, 0], [-10.0, 0, 0], [0, 10.0, 0]])
    return ObjectTable({1: pts, 2: pts}, {1: 100.0, 2: 50.0}, (),
                       names={1: 'one', 2: 'two'})


def test_score_object_by_hand():
    # shifts 1, 4, 8 mm against d = 100: below 2, 5, 10 mm -> 1/3, 2/3, 1
    rows = [_result(1, dx, i) for i, dx in enumerate((1.0, 4.0, 8.0))]
    s = score_object(rows, _table().object_points(1), 100.0, False,
                     ScoreSettings(), CPU, name='one')
    assert s.acc == pytest.approx([100 / 3, 200 / 3, 100.0])
    # exact AUC: mean(1 - e / 10 mm) = mean(0.9, 0.6, 0.2)
    assert s.auc == pytest.approx(100 * (0.9 + 0.6 + 0.2) / 3)
    np.testing.assert_allclose(s.add.numpy(), [1.0, 4.0, 8.0])
    np.testing.assert_allclose(s.trans.numpy(), [1.0, 4.0, 8.0])
    assert s.rot.tolist() == [0.0, 0.0, 0.0]
    assert (s.n, s.invalid, s.R_only, s.depth) == (3, 0, None, None)


def test_metric_values_means_and_keys():
    table = _table()
    rows = [_result(1, 1.0), _result(2, 4.0, 1), _result(2, 30.0, 2)]
    scores = score_results(rows, table, ScoreSettings(), CPU)
    assert list(scores) == [1, 2]
    m = metric_values(scores, [1, 2], ScoreSettings(), len(rows))
    # object 2 (d = 50): 4 mm < 5 mm (0.1 d) but not < 1 or 2.5 mm
    assert m['two/ADD_0.1d'] == 50.0 and m['two/ADD_0.05d'] == 0.0
    assert m['one/ADD_0.02d'] == 100.0
    assert m['ADD(-S)_0.1d'] == pytest.approx((100.0 + 50.0) / 2)
    # statistics pool the predictions, not the objects: 1, 4, 30 mm
    assert m['ADD(-S)_mean_mm'] == pytest.approx(35 / 3)
    assert m['ADD(-S)_median_mm'] == pytest.approx(4.0)
    assert (m['num_samples'], m['num_invalid']) == (3, 0)


def test_mean_obj_ids():
    fifteen = list(range(1, 16))
    assert mean_obj_ids(fifteen) == [i for i in fifteen if i not in (3, 7)]
    assert mean_obj_ids(fifteen[:-1]) == fifteen[:-1]  # 14: no rule
    assert mean_obj_ids([1, 2, 3], [2]) == [1, 3]
    assert mean_obj_ids([2], [2]) == [2]  # never empty


def _scores(name: str, acc: float, n: int, invalid: int) -> ObjectScores:
    errors = torch.tensor([1.0] * (n - invalid) + [math.inf] * invalid,
                          dtype=torch.float64)
    return ObjectScores(name=name, symmetric=name == 'sym', n=n,
                        invalid=invalid, acc=[acc], auc=acc / 2, proj=acc,
                        cmdeg=acc, add=errors, rot=errors * 2,
                        trans=errors * 3, valid=torch.isfinite(errors))


def test_format_table_layout():
    settings = ScoreSettings(thresholds=(0.1, ))
    scores = {1: _scores('a', 50.0, 2, 1), 2: _scores('sym', 100.0, 1, 0)}
    lines = format_table(scores, [1, 2], settings).splitlines()
    assert lines[0] == 'ADD(-S) accuracy (%) per object'
    assert lines[2].split() == ['Object', 'metric', '0.1d', 'AUC',
                                'Proj2D@5px', '5cm5deg', 'R', 'med(deg)',
                                't', 'med(mm)', 'N', 'invalid']
    assert lines[4].split() == ['a', 'ADD', '50.00', '25.00', '50.00',
                                '50.00', '2.00', '3.00', '2', '1']
    assert lines[5].split()[:2] == ['sym', 'ADD-S']
    assert lines[7].split() == ['Mean', '(2', 'obj)', 'ADD(-S)', '75.00',
                                '37.50', '75.00', '75.00', '2.00', '3.00',
                                '3', '1']
    # rules as wide as the header, around header, body and footer
    rules = [i for i, line in enumerate(lines) if set(line) == {'-'}]
    assert rules == [1, 3, 6, 8]
    assert len(lines[1]) == len(lines[2])
    # a left-out object adds the mean over all of them
    more = format_table(scores, [2], settings).splitlines()
    assert more[-2].split()[:3] == ['Mean', '(all', '2)']


def test_write_results_csv_skips_non_finite(tmp_path):
    rows = [_result(1, 1.0, 0), _result(1, 2.0, 1)]
    rows[1]['pred_t'] = np.array([np.nan, 0, 800.0])
    path = str(tmp_path / 'x_lm-test.csv')
    assert write_results_csv(path, rows) == 1
    back = read_bop_csv(path)
    assert [r['im_id'] for r in back] == [0]
    np.testing.assert_allclose(back[0]['t'], [1.0, 0, 800.0])
