"""The same config trains under torchrun with 2 CPU processes (gloo): the
ranks see disjoint data each epoch and finish with identical weights, and
the work dir lock of rank 0 does not stop rank 1."""
import json
import os.path as osp

import pytest

from ._cli import TOY_CONFIG, run_tool


@pytest.mark.slow
def test_two_process_torchrun_on_cpu(tmp_path):
    work_dir = str(tmp_path)
    run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29561', 'tools/train.py', TOY_CONFIG, '--launcher',
        'pytorch', '--work-dir', work_dir
    ], timeout=600)
    records = []
    for rank in (0, 1):
        with open(osp.join(work_dir, f'rank{rank}.json')) as f:
            records.append(json.load(f))
    # 32 samples, 2 ranks, 2 epochs -> 16 per rank per epoch
    for epoch in range(2):
        parts = [set(r['seen'][16 * epoch:16 * (epoch + 1)]) for r in records]
        assert len(parts[0]) == len(parts[1]) == 16
        assert parts[0].isdisjoint(parts[1])
        assert parts[0] | parts[1] == set(range(32))
    assert records[0]['weights'] == pytest.approx(records[1]['weights'],
                                                  abs=0)
    assert any(abs(w) > 0.1 for w in records[0]['weights'])  # it trained
    # rank 0 held the work dir (the other rank does not lock it) and let go
    assert not osp.exists(osp.join(work_dir, '.posessl.lock'))
