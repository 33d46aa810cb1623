"""BopTimeHook and ADDMetric: the hook marks each test step's start in the
message hub, the metric shares the step's wall time among the batch's
samples (the BOP CSV's per-image time), nothing outside a test step."""
from types import SimpleNamespace
from unittest import mock

import numpy as np
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope

from posessl.evaluation.metrics.add_metric import TEST_STEP_START
from posessl.evaluation.reporting import image_times
from posessl.registry import HOOKS, METRICS


def _sample(im_id: int, obj_id: int) -> dict:
    """A data sample dict as the evaluator hands it to the metric."""
    pose = dict(R=np.eye(3), t=np.array([0.0, 0.0, 800.0]))
    return dict(obj_id=obj_id, scene_id=1, im_id=im_id, cam_K=np.eye(3),
                pred_R=pose['R'], pred_t=pose['t'], gt_R=pose['R'],
                gt_t=pose['t'])


def test_each_sample_gets_its_share_of_the_marked_step_time():
    hub = MessageHub.get_instance('bop_time_hook_test')  # the current one
    with DefaultScope.overwrite_default_scope('posessl'):
        hook = HOOKS.build(dict(type='BopTimeHook'))
        metric = METRICS.build(dict(type='ADDMetric'))
    runner = SimpleNamespace()
    # two images of two objects each; the step took 2.0 s by the clock:
    # 0.5 s per sample, 1.0 s per image, 2.0 s in all
    batch = [_sample(0, 1), _sample(0, 2), _sample(1, 1), _sample(1, 2)]
    with mock.patch('time.perf_counter', side_effect=[10.0, 12.0]):
        hook.before_test_iter(runner, 0)
        assert hub.get_info(TEST_STEP_START) == 10.0
        metric.process({}, batch)  # what the test loop does next
    hook.after_test_iter(runner, 0)
    assert hub.get_info(TEST_STEP_START) is None
    assert [r['time'] for r in metric.results] == [0.5] * 4
    times = image_times(metric.results)
    assert times == {(1, 0): 1.0, (1, 1): 1.0}
    assert sum(times.values()) == 2.0  # the measured step time
    # outside a marked step: the sample's own time, else -1
    metric.process({}, [dict(_sample(2, 1), time=0.25), _sample(3, 1)])
    assert [r['time'] for r in metric.results[4:]] == [0.25, -1.0]


def test_the_hook_runs_last_before_the_step():
    with DefaultScope.overwrite_default_scope('posessl'):
        hook = HOOKS.build(dict(type='BopTimeHook'))
    assert hook.priority == 'LOWEST'
