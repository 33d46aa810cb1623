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
