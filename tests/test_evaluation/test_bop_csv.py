"""BOP results CSV: round trip, exact text, file names, clear errors."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from posessl.evaluation import (
    BOP_CSV_HEADER,
    BopCsvError,
    bop_result_filename,
    parse_bop_result_filename,
    read_bop_csv,
    write_bop_csv,
)
from posessl.evaluation.reporting import image_times, write_results_csv


def make_rows(n: int = 5):
    rng = np.random.default_rng(0)
    Rs = Rotation.random(n, random_state=0).as_matrix()
    rows = []
    for i in range(n):
        rows.append(dict(scene_id=2, im_id=i // 2, obj_id=1 + i % 2,
                         score=float(rng.uniform()), R=Rs[i],
                         t=rng.normal(size=3) * 100 + [0, 0, 1000],
                         time=0.25 * (i // 2)))
    return rows


def test_round_trip(tmp_path):
    rows = make_rows()
    path = tmp_path / 'posessl-r18_lmo-test.csv'
    assert write_bop_csv(str(path), rows) == len(rows)
    back = read_bop_csv(str(path))
    assert len(back) == len(rows)
    for a, b in zip(rows, back):
        assert (b['scene_id'], b['im_id'], b['obj_id']) == (
            a['scene_id'], a['im_id'], a['obj_id'])
        assert b['R'].shape == (3, 3) and b['t'].shape == (3, )
        # 10 significant digits are written
        np.testing.assert_allclose(b['R'], a['R'], rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(b['t'], a['t'], rtol=1e-9)
        assert b['score'] == pytest.approx(a['score'], rel=1e-9)
        assert b['time'] == a['time']


def test_exact_text_layout(tmp_path):
    path = tmp_path / 'm_lm-test.csv'
    R = np.arange(9, dtype=float).reshape(3, 3) / 10  # row-major 0 .. 0.8
    write_bop_csv(str(path), [dict(scene_id=1, im_id=7, obj_id=5, R=R,
                                   t=[1.5, -2.0, 1000.25])])
    lines = path.read_text().splitlines()
    assert lines[0] == BOP_CSV_HEADER == 'scene_id,im_id,obj_id,score,R,t,time'
    assert lines[1] == ('1,7,5,1,0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8,'
                        '1.5 -2 1000.25,-1')


def test_one_time_per_image(tmp_path):
    rows = make_rows(2)
    rows[1]['im_id'] = rows[0]['im_id']
    rows[1]['time'] = rows[0]['time'] + 1
    with pytest.raises(BopCsvError, match='one time per image'):
        write_bop_csv(str(tmp_path / 'a_b-c.csv'), rows)


@pytest.mark.parametrize('body, message', [
    ('scene_id,im_id,obj_id,score,R,t\n', r':1: header must be'),
    ('', r':1: header must be'),
    (f'{BOP_CSV_HEADER}\n1,2,3,1,0 0 0,0 0 0,-1\n', r':2: R needs 9'),
    (f'{BOP_CSV_HEADER}\n1,2,3,1,1 0 0 0 1 0 0 0 1,0 0,-1\n',
     r':2: t needs 3'),
    (f'{BOP_CSV_HEADER}\n1,2,3,1,1 0 0 0 1 0 0 0 1,0 0 1\n',
     r':2: expected 7 comma-separated columns'),
    (f'{BOP_CSV_HEADER}\nx,2,3,1,1 0 0 0 1 0 0 0 1,0 0 1,-1\n',
     r':2: scene_id, im_id, obj_id must be integers'),
    (f'{BOP_CSV_HEADER}\n1,2,3,1,1 0 0 0 a 0 0 0 1,0 0 1,-1\n',
     r':2: R must be space-separated numbers'),
    (f'{BOP_CSV_HEADER}\n1,2,3,1,1 0 0 0 1 0 0 0 1,0 0 1,-1\n'
     '1,2,4,1,1 0 0 0 1 0 0 0 1,0 0 1,0.5\n', r':3: image .* has time'),
])
def test_malformed_files_name_file_and_line(tmp_path, body, message):
    path = tmp_path / 'bad_lm-test.csv'
    path.write_text(body)
    with pytest.raises(BopCsvError, match=message) as info:
        read_bop_csv(str(path))
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.csv'):
        read_bop_csv(str(tmp_path / 'nope.csv'))


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / 'a_lm-test.csv'
    path.write_text(f'{BOP_CSV_HEADER}\n\n1,2,3,0.5,1 0 0 0 1 0 0 0 1,'
                    '0 0 1,-1\n\n')
    rows = read_bop_csv(str(path))
    assert len(rows) == 1
    np.testing.assert_array_equal(rows[0]['R'], np.eye(3))
    assert rows[0]['score'] == 0.5 and rows[0]['time'] == -1


def test_writer_refuses_bad_rows(tmp_path):
    path = str(tmp_path / 'a_b-c.csv')
    with pytest.raises(BopCsvError, match='missing t'):
        write_bop_csv(path, [dict(scene_id=1, im_id=1, obj_id=1,
                                  R=np.eye(3))])
    with pytest.raises(BopCsvError, match='R holds NaN'):
        write_bop_csv(path, [dict(scene_id=1, im_id=1, obj_id=1,
                                  R=np.full((3, 3), np.nan), t=[0, 0, 1])])


def test_file_name_convention():
    assert bop_result_filename('posessl-r18', 'lmo', 'test') == \
        'posessl-r18_lmo-test.csv'
    assert parse_bop_result_filename('/x/posessl-r18_lmo-test.csv') == (
        'posessl-r18', 'lmo', 'test')
    with pytest.raises(ValueError, match="without '_'"):
        bop_result_filename('pose_ssl', 'lmo', 'test')
    with pytest.raises(ValueError, match='must be named'):
        parse_bop_result_filename('results.csv')


# ------------------------------------------- the metric's CSV: time, score
def _result(scene_id, im_id, obj_id, time, finite=True):
    R = np.eye(3) if finite else np.full((3, 3), np.nan)
    return dict(scene_id=scene_id, im_id=im_id, obj_id=obj_id, score=1.0,
                pred_R=R, pred_t=np.array([0.0, 0.0, 1000.0]), time=time)


def test_image_time_is_the_sum_over_its_objects():
    results = [_result(1, 0, 1, 0.25), _result(1, 0, 2, 0.5),
               _result(1, 1, 1, 0.125), _result(1, 2, 1, 0.25),
               _result(1, 2, 2, -1.0), _result(2, 0, 1, -1.0)]
    assert image_times(results) == {(1, 0): 0.75, (1, 1): 0.125,
                                    (1, 2): -1.0, (2, 0): -1.0}


def test_results_csv_gives_every_row_of_an_image_its_time(tmp_path):
    path = str(tmp_path / 'posessl_lmo-test.csv')
    # image (1, 0): two objects timed in different batches, the second's
    # pose not finite (not written, its time still spent on the image)
    results = [_result(1, 0, 1, 0.25), _result(1, 0, 2, 0.5, finite=False),
               _result(1, 0, 3, 0.125), _result(1, 5, 1, 0.0625)]
    assert write_results_csv(path, results) == 3
    rows = read_bop_csv(path)
    assert [(r['im_id'], r['obj_id'], r['time']) for r in rows] == [
        (0, 1, 0.875), (0, 3, 0.875), (5, 1, 0.0625)]
    assert [r['score'] for r in rows] == [1.0, 1.0, 1.0]


def test_test_tool_writes_measured_times_and_score_one(synthetic_root,
                                                       tmp_path):
    from tests.test_apis.tiny_pose import tiny_checkpoint, tiny_config
    from tests.test_engine._cli import run_tool
    cfg = tiny_config(synthetic_root)  # test batches of 8
    config = str(tmp_path / 'tiny_pose.py')
    cfg.dump(config)
    ckpt, _ = tiny_checkpoint(cfg, tmp_path)
    csv = str(tmp_path / 'tiny_synthetic-test.csv')
    run_tool(['tools/test.py', config, ckpt, '--work-dir',
              str(tmp_path / 'work'), '--out', csv])
    rows = read_bop_csv(csv)
    assert len(rows) == 30  # one object per image, in loader order
    times = [r['time'] for r in rows]
    assert all(t > 0 for t in times)
    # a batch's time shared by its 8 images (the last batch holds 6)
    for batch in range(4):
        assert len(set(times[8 * batch:8 * batch + 8])) == 1, times
    assert {r['score'] for r in rows} == {1.0}  # no confidence: 1
