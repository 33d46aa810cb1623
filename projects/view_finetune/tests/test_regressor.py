"""SemiSupervisedPoseRegressor: the pose losses of the labelled anchors plus
the relative-viewpoint loss of the triplets, checked against the parts."""
import pytest
import torch
from mmengine.runner.checkpoint import save_checkpoint

from posessl.models.losses import info_nce_loss
from posessl.registry import MODELS
from projects.view_finetune.view_finetune import SemiSupervisedPoseRegressor
from tests.test_models.conftest import crop_sample, dataset_meta

NECK = dict(type='ProjectionNeck', out_channels=32, hidden_channels=64)


def _model(weight: float = 0.5, neck: dict = NECK) -> torch.nn.Module:
    model = MODELS.build(
        dict(type='SemiSupervisedPoseRegressor',
             backbone=dict(type='TorchvisionResNet', depth=18),
             head=dict(type='PoseRegressionHead', hidden_channels=32),
             neck=neck,
             view_head=dict(type='CosineContrastiveHead', mode='infonce',
                            temperature=0.2, loss_weight=weight),
             objects=dataset_meta()))
    assert isinstance(model, SemiSupervisedPoseRegressor)
    return model


def _triplet_batch(labelled, size: int = 32) -> dict:
    """Random uint8 triplets (3, 3, H, W); anchor ``i`` labelled where
    ``labelled[i]``."""
    g = torch.Generator().manual_seed(3)
    inputs = [torch.randint(0, 256, (3, 3, size, size), dtype=torch.uint8,
                            generator=g) for _ in labelled]
    samples = [crop_sample(i, size, has_pose=bool(lab))
               for i, lab in enumerate(labelled)]
    return dict(inputs=inputs, data_samples=samples)


def test_triplet_loss_is_the_anchors_pose_loss_plus_the_view_loss():
    torch.manual_seed(0)
    model = _model(weight=0.5)
    model.eval()  # fixed BN statistics: features independent of the batch
    labelled = [True, False, True, False]
    data = model.data_preprocessor(_triplet_batch(labelled))
    x, samples = data['inputs'], data['data_samples']
    assert x.shape == (12, 3, 32, 32)
    losses = model(x, samples, mode='loss')
    # the pose part: PoseRegressor's loss on the four anchors alone
    anchors_only = model(x[:4], samples, mode='loss')
    assert set(anchors_only) < set(losses)
    for key, value in anchors_only.items():
        assert losses[key].item() == pytest.approx(value.item(), rel=1e-5,
                                                   abs=1e-7), key
    # ...which counts the labelled anchors only: the same as a batch of
    # the two labelled anchors
    two = model(x[[0, 2]], [samples[0], samples[2]], mode='loss')
    for key in ('loss_pm', 'loss_rot', 'loss_site', 'rot_err'):
        assert losses[key].item() == pytest.approx(two[key].item(),
                                                   rel=1e-4), key
    # the view part: InfoNCE of the normalised neck outputs, weighted
    z = torch.nn.functional.normalize(model.neck(model.extract_feat(x)),
                                      dim=-1)
    view = info_nce_loss(z[:4], z[4:8], z[8:], temperature=0.2).mean()
    assert losses['loss_view'].item() == pytest.approx(
        0.5 * view.item(), rel=1e-5)
    assert losses['pos_sim'].item() == pytest.approx(
        torch.nn.functional.cosine_similarity(z[:4], z[4:8]).mean().item(),
        rel=1e-5)


def test_unlabelled_triplets_train_through_the_view_loss_alone():
    torch.manual_seed(0)
    model = _model()
    model.train()
    data = model.data_preprocessor(_triplet_batch([False, False, False]),
                                   True)
    losses = model(**data, mode='loss')
    for key in ('loss_pm', 'loss_rot', 'loss_site'):
        assert losses[key].item() == 0.0
    assert losses['loss_view'].item() > 0
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    conv = model.backbone.state_dict(keep_vars=True)
    grads = [p.grad for k, p in conv.items() if k.endswith('weight')
             and p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.head.parameters())


def test_single_images_get_the_pose_losses_only(make_batch):
    torch.manual_seed(0)
    model = _model()
    model.eval()
    data = model.data_preprocessor(make_batch(3, 32))
    losses = model(**data, mode='loss')
    assert 'loss_view' not in losses and 'loss_pm' in losses
    out = model(**data, mode='predict')
    assert out[0].pred_R.shape == (3, 3)
    with pytest.raises(ValueError, match='B or 3B images for B data '
                       'samples, got 6 images for 3'):
        model(torch.cat([data['inputs']] * 2), data['data_samples'],
              mode='loss')


def test_neck_starts_from_the_pretraining_checkpoint(tmp_path):
    torch.manual_seed(0)
    ssl = MODELS.build(
        dict(type='ContrastivePretrainer',
             backbone=dict(type='TorchvisionResNet', depth=18), neck=NECK,
             head=dict(type='CosineContrastiveHead')))
    path = str(tmp_path / 'ssl.pth')
    save_checkpoint(dict(state_dict=ssl.state_dict()), path)
    torch.manual_seed(1)
    model = _model(neck=dict(NECK, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='neck.')))
    model.init_weights()
    saved = ssl.neck.state_dict()
    assert set(saved) == set(model.neck.state_dict())
    for key, value in model.neck.state_dict().items():
        assert torch.equal(value, saved[key]), key
