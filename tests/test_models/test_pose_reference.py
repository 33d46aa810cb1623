"""The pose model's losses and predictions on fixed data stay what they were.

``pose_reference.json`` holds the losses and the decoded ``pred_R`` /
``pred_t`` of a fixed (seeded) ``PoseRegressor`` on a fixed batch of six
hand-built crops (two objects, one symmetric; one frame unlabelled), for
both depth references, as the model computed them before the data samples
carried typed tensors (issue 13). Any refactoring of the data path must
reproduce them to float32 tolerance.
"""
import json
from pathlib import Path

import pytest
import torch

from posessl.registry import MODELS

from .conftest import crop_sample, dataset_meta

REFERENCE = json.loads(
    (Path(__file__).with_name('pose_reference.json')).read_text())
OBJ_IDS = (1, 2, 1, 1, 2, 1)
LABELLED = (True, True, False, True, True, True)


def _codec(depth_ref: str) -> dict:
    return dict(type='SITECodec', depth_ref=depth_ref, depth_scale=150.0)


def _batch(depth_ref: str) -> dict:
    """The fixed batch, its targets encoded as the pipeline does."""
    g = torch.Generator().manual_seed(3)
    inputs = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8,
                            generator=g) for _ in OBJ_IDS]
    samples = [
        crop_sample(100 + i, 32, obj_id=o, has_pose=h,
                    mask_area=400.0 + 37.0 * i, codec=_codec(depth_ref))
        for i, (o, h) in enumerate(zip(OBJ_IDS, LABELLED))
    ]
    return dict(inputs=inputs, data_samples=samples)


def _model(depth_ref: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='PoseRegressor',
             backbone=dict(type='TorchvisionResNet', depth=18),
             head=dict(type='PoseRegressionHead', hidden_channels=32,
                       decoder=_codec(depth_ref)),
             objects=dataset_meta()))
    return model


@pytest.mark.parametrize('depth_ref', ['crop', 'mask_area'])
def test_losses_and_predictions_equal_the_reference(depth_ref):
    expected = REFERENCE[depth_ref]
    model = _model(depth_ref).train()
    losses = model(**model.data_preprocessor(_batch(depth_ref), True),
                   mode='loss')
    assert set(losses) == set(expected['losses'])
    for key, value in expected['losses'].items():
        assert losses[key].item() == pytest.approx(value, rel=1e-5), key
    model.eval()
    with torch.no_grad():
        out = model.test_step(_batch(depth_ref))
    pred_R = torch.stack([s.pred_R for s in out])
    pred_t = torch.stack([s.pred_t for s in out])
    torch.testing.assert_close(pred_R, torch.tensor(expected['pred_R']),
                               rtol=0, atol=1e-5)
    torch.testing.assert_close(pred_t, torch.tensor(expected['pred_t']),
                               rtol=1e-5, atol=1e-3)
