"""The real-photo benchmark's bookkeeping (no training: its runs are
measured by the benchmark itself, not by the tests)."""
import re
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from tests.test_engine._cli import REPO, load_tool

bench = load_tool('benchmarks/real_photos.py')


def _args(*argv: str):
    return bench.parse_args(list(argv))


def test_cells_follow_the_labels_each_method_needs():
    args = _args('--methods', 'render', 'render-ft', 'render-self', 'real',
                 '--fractions', '0', '0.1', '1', '--seeds', '0', '1')
    cells = bench.table_cells(args)
    assert [c for c in cells if c[0] == 'render'] == [('render', 0.0, 0),
                                                      ('render', 0.0, 1)]
    # fine-tuning needs labels; self-training needs unlabelled frames
    assert {c[1] for c in cells if c[0] in ('render-ft', 'real')} == {0.1,
                                                                       1.0}
    assert {c[1] for c in cells if c[0] == 'render-self'} == {0.0, 0.1}
    # method by method: independent cells come side by side for --jobs
    assert [c[0] for c in cells[:2]] == ['render', 'render']


def test_every_option_names_a_key_its_config_has():
    for method, config in bench.CONFIGS.items():
        cfg = Config.fromfile(str(Path(REPO) / config))
        for option in (bench.labelled_options(method, 0.1)
                       if method not in bench.ZERO_LABEL else []):
            key = option.split('=')[0]
            node = cfg
            for part in key.split('.')[:-1]:
                node = node[int(part)] if part.isdigit() else node[part]
            assert node['type'] == 'LinemodBOPDataset', (method, key)
            assert node['subset'] == 'train' and node['data_root'] == \
                bench.REAL_ROOT
        # every model is scored on the real test images, never the pool
        test = cfg.test_dataloader.dataset
        assert (test.data_root, test.subset) == (bench.REAL_ROOT, 'test')


def test_labelled_count_is_the_pools_rule(lmo_real_root):
    # 48 ape and 45 duck pool frames: floor(0.1 n + 0.5) = 5 and 5,
    # floor(0.4 n + 0.5) = 19 and 18, all at 1
    root = str(lmo_real_root)
    assert bench.labelled_count(0.0, root) == 0
    assert bench.labelled_count(0.1, root) == 5 + 5
    assert bench.labelled_count(0.4, root) == 19 + 18
    assert bench.labelled_count(1.0, root) == 48 + 45


def test_table_means_spreads_and_columns(capsys):
    rows = [dict(method='render-ft', label_fraction=0.1, seed=s,
                 **{'ADD(-S)_0.1d': a, 'fit_ADD(-S)_0.1d': 90.0},
                 visib=v, amodal_sil=a + 1, visib_sil=v + 1,
                 amodal_silc=a + 2,
                 rot_err_median_deg=r, wall_s=100.0 * (s + 1))
            for s, (a, v, r) in enumerate([(20.0, 10.0, 5.0),
                                           (30.0, 14.0, 7.0)])]
    bench.print_table(rows)
    line = [ln for ln in capsys.readouterr().out.splitlines()
            if ln.startswith('render-ft')][0]
    # mean +- population std over the two seeds, by hand
    assert re.search(r'10%\s+2\s+25\.0 \+- 5\.0\s+12\.0 \+- 2\.0\s+'
                     r'26\.0 \+- 5\.0\s+13\.0 \+- 2\.0\s+27\.0 \+- 5\.0\s+'
                     r'90\.0 \+- 0\.0\s+6\.0\s+150$', line), line
    assert np.isclose(np.std([20.0, 30.0]), 5.0)


def test_label_efficiency_hands_lmo_real_to_this_script(tmp_path, capsys):
    label_efficiency = load_tool('benchmarks/label_efficiency.py')
    label_efficiency.main(['--dataset', 'lmo-real', '--report',
                           '--work-dir', str(tmp_path)])
    assert 'on the real test frames' in capsys.readouterr().out


def test_bad_method_is_refused(capsys):
    with pytest.raises(SystemExit):
        _args('--methods', 'ssl-ft')
    assert "invalid choice: 'ssl-ft'" in capsys.readouterr().err
