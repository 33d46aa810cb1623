"""The pose head's batched loss equals the per-sample maths.

The head reduces a batch with masked means over ``has_pose`` and gathers
each sample's object row; here every labelled sample is scored alone with
the pure functions (its own object's points, diameter and symmetry form)
and the batch losses must be the means of those numbers.
"""
import torch

from posessl.geometry import (
    geodesic_distance,
    mask_area_reference,
    site_encode,
)
from posessl.models.losses import geodesic_loss, point_matching_loss

from .conftest import crop_sample
from .test_regressor import _loss_points, build_pose

OBJ_IDS = (1, 2, 2, 1, 1)
LABELLED = (True, True, False, True, True)


def test_batched_loss_equals_the_per_sample_maths(make_batch):
    torch.manual_seed(0)
    codec = dict(type='SITECodec', depth_ref='mask_area', depth_scale=120.0)
    model = build_pose(head=dict(type='PoseRegressionHead',
                                 hidden_channels=16, decoder=codec))
    batch = make_batch(len(OBJ_IDS))
    batch['data_samples'] = [
        crop_sample(20 + i, obj_id=o, has_pose=h, mask_area=900.0 + 50 * i,
                    codec=codec)
        for i, (o, h) in enumerate(zip(OBJ_IDS, LABELLED))]
    data = model.data_preprocessor(batch, True)
    samples = data['data_samples']
    feats = model.extract_feat(data['inputs'])
    losses = model.head.loss(feats, samples, (64, 64))
    rot, site = model.head(feats)
    R, t = model.head.decode(rot, site, samples, (64, 64))
    crop_K = torch.stack([s.crop_K for s in samples]).float()
    ref = mask_area_reference(torch.stack([s.mask_area for s in samples]),
                              torch.stack([s.cam_K for s in samples]).float(),
                              crop_K)
    pm, ang, site_l, rot_err = [], [], [], []
    for i, sample in enumerate(samples):
        if not LABELLED[i]:
            continue
        obj = OBJ_IDS[i]
        diameter = {1: 102.0, 2: 120.0}[obj]
        symmetric = torch.tensor([obj == 2])
        pm.append(point_matching_loss(
            R[i:i + 1], sample.gt_R[None], _loss_points(model, obj)[None],
            scale=torch.tensor([diameter]), symmetric=symmetric)[0])
        if obj != 2:
            ang.append(geodesic_loss(R[i:i + 1], sample.gt_R[None])[0])
        target = site_encode(sample.gt_t, crop_K[i], (64, 64), 120.0,
                             ref[i])
        site_l.append((site[i] - target).abs().sum())
        rot_err.append(torch.rad2deg(geodesic_distance(R[i],
                                                       sample.gt_R)))
    expected = dict(loss_pm=torch.stack(pm).mean(),
                    loss_rot=torch.stack(ang).mean(),
                    loss_site=torch.stack(site_l).mean(),
                    rot_err=torch.stack(rot_err).mean())
    for key, value in expected.items():
        torch.testing.assert_close(losses[key], value, rtol=1e-5,
                                   atol=1e-6, msg=key)
    # an unlabelled frame's labels never matter, even NaN ones
    samples[2].gt_t = torch.full((3, ), float('nan'))
    again = model.head.loss(feats, samples, (64, 64))
    for key in expected:
        torch.testing.assert_close(again[key], losses[key], msg=key)
    total = sum(v for k, v in again.items() if 'loss' in k)
    total.backward()
    assert all(torch.isfinite(p.grad).all()
               for p in model.head.parameters() if p.grad is not None)
