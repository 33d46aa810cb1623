"""BopTimeHook: each test sample gets its batch's test_step time over the
batch size, written before the evaluator sees the outputs."""
from types import SimpleNamespace
from unittest import mock

from mmengine.registry import DefaultScope

from posessl.registry import HOOKS
from posessl.structures import PoseDataSample


class Model:

    def __init__(self) -> None:
        self.seen = []

    def test_step(self, data):
        self.seen.append(data)
        return [PoseDataSample() for _ in range(data)]


def test_each_sample_gets_its_share_of_the_step_time():
    with DefaultScope.overwrite_default_scope('posessl'):
        hook = HOOKS.build(dict(type='BopTimeHook'))
    model = Model()
    runner = SimpleNamespace(model=model)
    hook.before_test(runner)
    # the step took 2.0 s by the clock; 4 samples: 0.5 s each
    with mock.patch('time.perf_counter', side_effect=[10.0, 12.0]):
        outputs = model.test_step(4)
    assert model.seen == [4]
    assert [s.metainfo['time'] for s in outputs] == [0.5] * 4
    hook.after_test(runner)
    assert 'test_step' not in vars(model)  # unwrapped
    assert 'time' not in model.test_step(1)[0].metainfo
