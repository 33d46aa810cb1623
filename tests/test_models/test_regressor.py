"""PoseRegressor and PoseRegressionHead: decoding, losses, freezing,
checkpoints, learning-rate multipliers and autocast."""
import math

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.runner.checkpoint import save_checkpoint
from scipy.spatial.transform import Rotation

from posessl.geometry import (
    crop_center_ray,
    geodesic_distance,
    matrix_to_rot6d,
    ray_rotation,
    site_encode,
)
from posessl.registry import MODELS

from .conftest import crop_sample, dataset_meta


def build_pose(**kwargs) -> torch.nn.Module:
    cfg = dict(
        type='PoseRegressor',
        backbone=dict(type='TorchvisionResNet', depth=18),
        head=dict(type='PoseRegressionHead', hidden_channels=64),
        objects=dataset_meta())
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _loss_points(model: torch.nn.Module, obj_id: int) -> torch.Tensor:
    """The head's loss points of ``obj_id``."""
    return model.head.obj_points[model.head.objects.row(obj_id)]


def _pin_head_output(head, rot: torch.Tensor, site: torch.Tensor) -> None:
    """Make the head output ``rot`` and ``site`` whatever the features."""
    with torch.no_grad():
        for layer, bias in ((head.rot_out, rot), (head.site_out, site)):
            layer.weight.zero_()
            layer.bias.copy_(bias)


@pytest.mark.parametrize('allocentric', [False, True])
@pytest.mark.parametrize('rot_repr', ['6d', 'quat'])
def test_head_decodes_rotation_and_translation_in_camera_frame(
        allocentric, rot_repr, make_batch):
    model = build_pose(
        head=dict(type='PoseRegressionHead', hidden_channels=16,
                  rot_repr=rot_repr,
                  decoder=dict(type='SITECodec', allocentric=allocentric,
                               depth_scale=150.0)))
    sample = crop_sample(7)
    crop_K = torch.as_tensor(sample.crop_K, dtype=torch.float32)
    R_net = sample.gt_R
    if allocentric:  # the network predicts relative to the crop-centre ray
        R_net = ray_rotation(crop_center_ray(crop_K, (64, 64))).T @ R_net
    if rot_repr == '6d':
        rot = matrix_to_rot6d(R_net)
    else:
        q = Rotation.from_matrix(R_net.double().numpy()).as_quat()
        rot = torch.tensor([q[3], q[0], q[1], q[2]]) * -2.0  # any scale/sign
    site = site_encode(sample.gt_t, crop_K, (64, 64), 150.0)
    _pin_head_output(model.head, rot, site)
    batch = make_batch(1)
    batch['data_samples'] = [sample]
    model.eval()
    out = model.test_step(batch)[0]
    assert out.pred_R.dtype == torch.float32 and out.pred_R.shape == (3, 3)
    assert out.pred_t.dtype == torch.float32 and out.pred_t.shape == (3, )
    assert torch.allclose(out.pred_R, sample.gt_R, atol=1e-5)
    assert torch.allclose(out.pred_t, sample.gt_t, rtol=1e-5)


def test_allocentric_rotation_differs_from_egocentric_off_centre():
    # The same network output means a different camera-frame rotation
    # when the crop sits off the optical axis: the ray's angle.
    sample = crop_sample(3)
    crop_K = torch.as_tensor(sample.crop_K, dtype=torch.float32)
    ray = crop_center_ray(crop_K, (64, 64))
    expected = math.acos(ray[2] / ray.norm())
    assert expected > math.radians(5)
    angle = geodesic_distance(ray_rotation(ray), torch.eye(3))
    assert angle.item() == pytest.approx(expected, rel=1e-4)


def test_loss_is_zero_at_the_ground_truth_and_skips_unlabelled(make_batch):
    model = build_pose()
    labelled = crop_sample(11)
    unlabelled = crop_sample(12, has_pose=False)
    unlabelled.gt_R = torch.zeros(3, 3)  # untrusted labels: never used
    unlabelled.gt_t = torch.full((3, ), float('nan'))
    crop_K = torch.as_tensor(labelled.crop_K, dtype=torch.float32)
    R_net = ray_rotation(crop_center_ray(crop_K, (64, 64))).T @ labelled.gt_R
    _pin_head_output(model.head, matrix_to_rot6d(R_net),
                     site_encode(labelled.gt_t, crop_K, (64, 64)))
    batch = make_batch(2)
    batch['data_samples'] = [labelled, unlabelled]
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    assert losses['loss_pm'].item() < 1e-5
    assert losses['loss_site'].item() < 1e-5
    # The geodesic clip leaves acos(1 - 1e-6) = 1.4e-3 rad at zero.
    assert losses['loss_rot'].item() < 2e-3
    assert losses['rot_err'].item() < 0.1
    assert losses['trans_err'].item() < 0.05
    # Only unlabelled frames: zero losses that still backpropagate.
    batch['data_samples'] = [crop_sample(1, has_pose=False)] * 2
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert total.item() == 0.0
    total.backward()


def test_loss_weights_and_values_by_hand(make_batch):
    model = build_pose(
        head=dict(type='PoseRegressionHead', hidden_channels=16,
                  decoder=dict(type='SITECodec', allocentric=False),
                  loss=dict(type='PoseLoss', pm_weight=2.0, rot_weight=0.5,
                            site_weight=3.0, site_weights=(1.0, 1.0, 2.0))))
    sample = crop_sample(5)
    crop_K = torch.as_tensor(sample.crop_K, dtype=torch.float32)
    turn = torch.as_tensor(Rotation.from_rotvec([0, 0, 0.1]).as_matrix(),
                           dtype=torch.float32)
    target = site_encode(sample.gt_t, crop_K, (64, 64))
    offset = torch.tensor([0.01, -0.02, 0.05])
    _pin_head_output(model.head, matrix_to_rot6d(sample.gt_R @ turn),
                     target + offset)
    batch = make_batch(1)
    batch['data_samples'] = [sample]
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    # Mean L1 distance in the camera frame over the diameter (102 mm).
    pts = _loss_points(model, 1).double()
    R = sample.gt_R.double()
    pm = ((pts @ (R @ turn.double()).T - pts @ R.T).abs().sum(-1).mean() /
          102.0)
    assert losses['loss_pm'].item() == pytest.approx(2.0 * pm.item(),
                                                     rel=1e-4)
    assert losses['loss_rot'].item() == pytest.approx(0.5 * 0.1, rel=1e-3)
    site_l1 = 0.01 + 0.02 + 2 * 0.05
    assert losses['loss_site'].item() == pytest.approx(3.0 * site_l1,
                                                       rel=1e-4)


def test_symmetric_objects_skip_the_geodesic_loss(make_batch):
    # All 500 points, so every point keeps its symmetric partner.
    model = build_pose(head=dict(type='PoseRegressionHead', num_points=500,
                                 hidden_channels=16,
                                 decoder=dict(type='SITECodec',
                                              allocentric=False)))
    sample = crop_sample(9, obj_id=2)  # symmetric: 180 degrees about z
    crop_K = torch.as_tensor(sample.crop_K, dtype=torch.float32)
    turn = torch.diag(torch.tensor([-1.0, -1.0, 1.0]))
    _pin_head_output(model.head, matrix_to_rot6d(sample.gt_R @ turn),
                     site_encode(sample.gt_t, crop_K, (64, 64)))
    batch = make_batch(1)
    batch['data_samples'] = [sample]
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert losses['loss_pm'].item() < 1e-5
    assert losses['loss_rot'].item() == 0.0
    assert losses['rot_err'].item() == pytest.approx(180.0, abs=0.1)


def test_model_points_are_subsampled_non_persistent_buffers():
    model = build_pose(head=dict(type='PoseRegressionHead', num_points=100))
    # two objects and the NaN row of objects outside the table
    assert model.head.obj_points.shape == (3, 100, 3)
    assert torch.isnan(model.head.obj_points[2]).all()
    assert model.head.obj_diameters[:2].tolist() == [102.0, 120.0]
    assert model.head.obj_symmetric.tolist() == [False, True, False]
    assert not any(k.startswith('head.obj_') for k in model.state_dict())
    # The subset is deterministic and made of the object's own points.
    again = build_pose(head=dict(type='PoseRegressionHead', num_points=100))
    assert torch.equal(_loss_points(model, 1), _loss_points(again, 1))
    full = dataset_meta()['model_points'][1]
    dist = np.abs(full[None] - _loss_points(model, 1).numpy()[:, None])
    assert (dist.sum(-1).min(1) == 0).all()


def test_missing_model_info_gives_clear_errors(make_batch):
    def build(**kwargs):
        return MODELS.build(dict(
            type='PoseRegressor',
            backbone=dict(type='TorchvisionResNet', depth=18),
            head=dict(type='PoseRegressionHead', hidden_channels=16),
            **kwargs))

    model = build()
    batch = make_batch(1)
    data = model.data_preprocessor(batch, True)
    for mode in ('loss', 'predict'):
        with pytest.raises(ValueError) as err:
            model(**data, mode=mode)
        assert str(err.value) == (
            'PoseRegressor has no objects: build it with objects=dict('
            "models_dir=<BOP models folder>) (a config's model.objects)")
    with pytest.raises(KeyError, match='diameters'):
        build(objects=dict(dataset_name='toy', model_points={}))
    with pytest.raises(ValueError, match='object 4 must be a non-empty'):
        build(objects=dict(model_points={4: np.zeros((5, 2))},
                           diameters={4: 1.0}))
    with pytest.raises(ValueError, match=r'PoseRegressor objects: expected '
                       r'dict\(models_dir=.*got keys \[.models.\]'):
        build(objects=dict(models='data/x/models'))
    with pytest.raises(ValueError, match='crop_K of toy/000000.png'):
        batch['data_samples'][0].set_metainfo(dict(crop_K=np.eye(2)))
    model = build(objects=dataset_meta())
    batch['data_samples'][0].obj_id = 7  # not among the model's objects
    with pytest.raises(KeyError, match='obj_id 7 .image toy/000000.png'):
        model(**model.data_preprocessor(batch, True), mode='loss')


def _bn_state(module: torch.nn.Module) -> list:
    return [
        b.clone() for m in module.modules()
        if isinstance(m, torch.nn.BatchNorm2d)
        for b in (m.running_mean, m.running_var, m.num_batches_tracked)
    ]


def test_frozen_backbone_gets_no_gradient_and_keeps_bn_stats(make_batch):
    torch.manual_seed(0)
    model = build_pose(freeze_backbone=True)
    model.train()
    assert not model.backbone.training
    assert not any(m.training for m in model.backbone.modules())
    assert model.head.training
    params = [p.clone() for p in model.backbone.parameters()]
    stats = _bn_state(model.backbone)
    head_before = model.head.fc[0].weight.clone()
    optim = OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                        weight_decay=1e-2))
    for seed in range(2):
        model.train_step(make_batch(4, seed=seed), optim)
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(torch.equal(a, b)
               for a, b in zip(params, model.backbone.parameters()))
    assert all(torch.equal(a, b)
               for a, b in zip(stats, _bn_state(model.backbone)))
    assert not torch.equal(head_before, model.head.fc[0].weight)


def test_backbone_lr_mult_from_paramwise_cfg(make_batch):
    torch.manual_seed(0)
    model = build_pose()
    optim = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='SGD', lr=0.01),
             paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)})))
    lr_of = {id(p): g['lr'] for g in optim.param_groups for p in g['params']}
    for name, param in model.named_parameters():
        expected = 0.001 if name.startswith('backbone.') else 0.01
        assert lr_of[id(param)] == pytest.approx(expected), name
    # One SGD step moves each parameter by its group's lr times its grad.
    w_bb = model.backbone.layer4[1].conv2.weight
    w_head = model.head.fc[0].weight
    before = [w_bb.clone(), w_head.clone()]
    model.train()
    loss, _ = model.parse_losses(
        model(**model.data_preprocessor(make_batch(4), True), mode='loss'))
    optim.backward(loss)
    grads = [w_bb.grad.clone(), w_head.grad.clone()]
    assert grads[0].abs().max() > 0 and grads[1].abs().max() > 0
    optim.step()
    assert torch.allclose(w_bb, before[0] - 0.001 * grads[0], atol=1e-9)
    assert torch.allclose(w_head, before[1] - 0.01 * grads[1], atol=1e-9)


def test_pretraining_checkpoint_maps_every_backbone_weight(tmp_path):
    torch.manual_seed(0)
    ssl = MODELS.build(
        dict(type='ContrastivePretrainer',
             backbone=dict(type='TorchvisionResNet', depth=18),
             neck=dict(type='ProjectionNeck', out_channels=64,
                       hidden_channels=128),
             head=dict(type='CosineContrastiveHead')))
    with torch.no_grad():  # make BN statistics distinctive too
        for m in ssl.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.num_batches_tracked.fill_(7)
    path = tmp_path / 'ssl.pth'
    save_checkpoint(dict(meta=dict(epoch=5), state_dict=ssl.state_dict()),
                    str(path))
    torch.manual_seed(1)
    model = build_pose(
        backbone=dict(type='TorchvisionResNet', depth=18,
                      init_cfg=dict(type='Pretrained', checkpoint=str(path),
                                    prefix='backbone.')))
    head_before = {k: v.clone() for k, v in model.head.state_dict().items()}
    model.init_weights()
    saved = {k[len('backbone.'):]: v for k, v in ssl.state_dict().items()
             if k.startswith('backbone.')}
    loaded = model.backbone.state_dict()
    assert set(saved) == set(loaded)  # none missing, none left over
    for key, value in saved.items():
        assert torch.equal(loaded[key], value), key
    for key, value in model.head.state_dict().items():
        assert torch.equal(head_before[key], value)


def test_autocast_keeps_losses_and_geometry_float32(make_batch):
    torch.manual_seed(0)
    model = build_pose()
    model.train()
    data = model.data_preprocessor(make_batch(4), True)
    full = model(**data, mode='loss')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        mixed = model(**data, mode='loss')
    for key, value in mixed.items():
        assert value.dtype == torch.float32, key
        assert torch.isfinite(value)
        assert value.item() == pytest.approx(full[key].item(), rel=0.1,
                                             abs=0.02), key
    sum(v for k, v in mixed.items() if 'loss' in k).backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters()
               if p.grad is not None)
    model.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = model.test_step(make_batch(2, seed=1))
    R = torch.stack([s.pred_R for s in out])
    assert R.dtype == torch.float32
    eye = torch.eye(3).expand_as(R)
    assert (R.transpose(1, 2) @ R - eye).abs().max() < 1e-5
    assert (torch.det(R) - 1).abs().max() < 1e-5


def test_mask_area_depth_reference_by_hand(make_batch):
    """depth_ref='mask_area': tz is measured against sqrt(mask area) times
    the crop's zoom; the head decodes that exactly and its loss is zero
    there; a missing area is a clear error."""
    codec = dict(type='SITECodec', depth_ref='mask_area', depth_scale=120.0)
    model = build_pose(head=dict(type='PoseRegressionHead',
                                 hidden_channels=16, decoder=codec))
    sample = crop_sample(5, mask_area=2500.0, codec=codec)  # 50 px square
    crop_K = torch.as_tensor(sample.crop_K, dtype=torch.float32)
    ref = model.head.decoder.depth_reference(
        crop_K[None], sample.cam_K[None].float(), sample.mask_area[None])
    assert ref.item() == pytest.approx(50.0 * sample.zoom, rel=1e-6)
    f_crop = math.sqrt(crop_K[0, 0] * crop_K[1, 1])
    site = site_encode(sample.gt_t, crop_K, (64, 64), 120.0, ref[0])
    # t_z * sqrt(area) / (f * depth_scale) in source pixels, by hand
    assert site[2].item() == pytest.approx(
        sample.gt_t[2].item() * 50.0 * sample.zoom / (f_crop * 120.0),
        rel=1e-6)
    R_net = ray_rotation(crop_center_ray(crop_K, (64, 64))).T @ sample.gt_R
    _pin_head_output(model.head, matrix_to_rot6d(R_net), site)
    batch = make_batch(1)
    batch['data_samples'] = [sample]
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert losses['loss_site'].item() < 1e-5
    assert losses['trans_err'].item() < 0.05
    model.eval()
    out = model.test_step(batch)[0]
    assert torch.allclose(out.pred_t, sample.gt_t, rtol=1e-5)
    # The same output read against the crop window is another depth.
    crop_ref = build_pose(head=dict(
        type='PoseRegressionHead', hidden_channels=16,
        decoder=dict(type='SITECodec', depth_scale=120.0)))
    _pin_head_output(crop_ref.head, matrix_to_rot6d(R_net), site)
    crop_ref.eval()
    other = crop_ref.test_step(batch)[0].pred_t
    assert other[2].item() == pytest.approx(
        sample.gt_t[2].item() * 50.0 * sample.zoom / 64, rel=1e-5)
    no_area = crop_sample(6)
    batch['data_samples'] = [no_area]
    with pytest.raises(KeyError, match=r"toy/000006.png has no 'mask_area'"):
        model.test_step(batch)
    with pytest.raises(ValueError, match='empty mask'):
        no_area.mask_area = 0.0
    with pytest.raises(ValueError, match="depth_ref must be 'crop'"):
        build_pose(head=dict(type='PoseRegressionHead',
                             decoder=dict(type='SITECodec', depth_ref='box')))
