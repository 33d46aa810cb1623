"""The label-efficiency benchmark's schedule bookkeeping (no training: its
runs are measured by the benchmark itself, not by the tests)."""
import os.path as osp

import pytest

from tests.test_engine._cli import REPO, load_tool

bench = load_tool('benchmarks/label_efficiency.py')


def _args(*argv: str):
    return bench.parse_args(list(argv))


def test_pose_iters_config_then_data_set_then_command_line():
    args = _args('--dataset', 'realmesh')
    # the configs' 600 at few labels, the real-mesh set's 1,200 at all
    assert bench.pose_iters('ssl-ft', 0.1, args) == 600
    assert bench.pose_iters('scratch', 1.0, args) == 1200
    assert bench.pose_iters('ssl-ft', 1.0, _args('--dataset',
                                                 'procedural')) == 600
    forced = _args('--dataset', 'realmesh', '--iters', '300')
    assert bench.pose_iters('ssl-ft', 1.0, forced) == 300
    assert bench.pose_iters('ssl-ft', 0.02, forced) == 300


def test_the_realmesh_full_label_schedule_is_the_shipped_configs():
    """The benchmark's 1,200 at 100 % is the 100 % config's schedule, the
    one ``iteration_schedule_options`` gives the other methods."""
    from mmengine.config import Config

    from posessl.engine.runner_setup import iteration_schedule_options
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/pose/pose_r18-ssl-ft_1xb32-1200it_realmesh-100pct.py'))
    assert cfg.train_cfg.max_iters == 1200
    assert cfg.train_dataloader.dataset.label_fraction == 1.0
    options = dict(o.split('=') for o in iteration_schedule_options(1200))
    warmup, cosine = cfg.param_scheduler
    assert int(options['param_scheduler.0.end']) == warmup['end'] == 120
    assert int(options['param_scheduler.1.begin']) == cosine['begin'] == 120
    assert int(options['param_scheduler.1.T_max']) == cosine['T_max'] == 1080
    assert int(options['param_scheduler.1.end']) == cosine['end'] == 1200


def test_run_folders_name_the_schedule_so_other_lengths_are_not_reused():
    args = _args('--dataset', 'realmesh', '--work-dir', 'wd')
    name = lambda *cell: osp.basename(osp.dirname(  # noqa: E731
        bench.result_file(*cell, args)))
    assert name('ssl-ft', 0.1, 2) == 'ssl-ft_10pct_600it_seed2'
    assert name('scratch', 1.0, 0) == 'scratch_100pct_1200it_seed0'
    assert name('nearest-neighbour', 0.02, 0) == \
        'nearest-neighbour_2pct_seed0'
    longer = _args('--dataset', 'realmesh', '--work-dir', 'wd', '--iters',
                   '900')
    assert osp.basename(osp.dirname(bench.result_file(
        'ssl-ft', 0.1, 2, longer))) == 'ssl-ft_10pct_900it_seed2'
    amp = _args('--dataset', 'realmesh', '--work-dir', 'wd', '--amp')
    assert osp.basename(osp.dirname(bench.result_file(
        'scratch', 0.02, 1, amp))) == 'scratch_2pct_600it_bf16_seed1'
    assert osp.basename(osp.dirname(bench.result_file(
        'nearest-neighbour', 0.02, 0, amp))) == 'nearest-neighbour_2pct_seed0'


def _row(method, fraction, seed, acc, iters, precision='fp32'):
    return bench.row(method, fraction, seed, 10, {
        bench.METRIC: acc,
        'add/ADD(-S)_AUC': 0.0,
        'add/rot_err_median_deg': 1.0,
        'add/trans_err_median_mm': 1.0,
    }, 60.0, {bench.METRIC: 100.0}, iters, precision)


def test_table_gives_each_schedule_its_own_mean(capsys):
    rows = [
        _row('ssl-ft', 1.0, 0, 80.0, 600),
        _row('ssl-ft', 1.0, 1, 90.0, 600),
        _row('ssl-ft', 1.0, 0, 98.0, 1200),
        _row('ssl-ft', 1.0, 1, 99.0, 1200),
        _row('ssl-ft', 0.1, 0, 70.0, 600),
    ]
    bench.print_table(rows)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if 'n2' in line or 'n1' in line]
    assert len(lines) == 2  # one row per schedule of the 100 % column
    first, second = lines
    assert first.startswith('ssl-ft')
    assert '70.0' in first and '85.0+-5.0' in first and '600it' in first
    assert second.startswith(' ' * 18)  # the same method, its other runs
    assert '98.5+-0.5' in second and '1200it' in second
    assert '70.0' not in second


def test_table_keeps_bf16_runs_apart_from_float32_ones(capsys):
    rows = [
        _row('scratch', 0.1, 0, 80.0, 600),
        _row('scratch', 0.1, 1, 82.0, 600),
        _row('scratch', 0.1, 0, 60.0, 600, 'bf16'),
        # a row written before the precision column reads as float32
        dict(_row('scratch', 0.1, 2, 84.0, 600), precision=None),
    ]
    bench.print_table(rows)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if ' n3 ' in line or ' n1 ' in line]
    assert len(lines) == 2
    assert '82.0+-1.6' in lines[0] and '600it ' in lines[0]
    assert '60.0' in lines[1] and '600it bf16' in lines[1]


@pytest.mark.parametrize('argv', [['--iters', '0'], ['--iters', '-5']])
def test_iterations_must_be_positive(argv, capsys):
    with pytest.raises(SystemExit):
        _args(*argv)
    assert '--iters' in capsys.readouterr().err


def test_every_methods_data_options_name_a_key_its_config_has():
    """``--cfg-options`` on a key the config lacks would build a wrong data
    set (a ``TripletDataset`` given ``data_root``): the benchmark sets the
    training set's options where each config keeps it."""
    from mmengine.config import Config
    for name, spec in bench.DATASETS.items():
        for method, config in spec['pose_configs'].items():
            cfg = Config.fromfile(osp.join(REPO, config))
            key = bench.train_set_key(cfg)
            train_set = cfg
            for part in key.split('.'):
                train_set = train_set[part]
            assert 'data_root' in train_set and 'label_fraction' in \
                train_set, (name, method, key)
    view = Config.fromfile(osp.join(
        REPO, bench.DATASETS['realmesh']['pose_configs']['ssl-ft-view']))
    assert bench.train_set_key(view) == 'train_dataloader.dataset.dataset'


def test_run_cells_reports_each_result_and_stops_after_a_failure(capsys):
    done, reported = [], []

    def run_one(cell):
        done.append(cell)
        if cell == 'b':
            raise bench.RunFailed('b failed; see b.log')
        return {'cell': cell}

    with pytest.raises(SystemExit) as exit_info:
        bench.run_cells(['a', 'b', 'c'], 1, run_one,
                        lambda cell, result: reported.append(result))
    # one at a time: 'a' reported, 'b' failed, 'c' never started
    assert done == ['a', 'b'] and reported == [{'cell': 'a'}]
    assert str(exit_info.value) == 'error: b failed; see b.log'
    reported.clear()
    bench.run_cells(['x', 'y'], 2, lambda c: {'cell': c},
                    lambda cell, result: reported.append(cell))
    assert sorted(reported) == ['x', 'y']
