"""PoseDataPreprocessor and ContrastivePretrainer."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper

from posessl.models.losses import triplet_cosine_loss
from posessl.registry import MODELS
from posessl.structures import PoseDataSample

MEAN = (10.0, 20.0, 30.0)
STD = (2.0, 4.0, 5.0)


def _triplets(batch: int, size: int = 8) -> dict:
    """Triplet ``i`` has value ``10 * i + role`` everywhere (role 0, 1, 2 =
    anchor, positive, negative)."""
    inputs = [
        torch.stack([
            torch.full((3, size, size), 10 * i + role, dtype=torch.uint8)
            for role in range(3)
        ]) for i in range(batch)
    ]
    samples = [
        PoseDataSample(metainfo=dict(img_path=f'f{i}.png',
                                     negative_frame_distance=i + 1))
        for i in range(batch)
    ]
    return dict(inputs=inputs, data_samples=samples)


def test_preprocessor_flattens_triplets_anchor_major_and_normalises():
    pre = MODELS.build(
        dict(type='PoseDataPreprocessor', mean=MEAN, std=STD))
    out = pre(_triplets(2))
    x = out['inputs']
    assert x.shape == (6, 3, 8, 8) and x.dtype == torch.float32
    # Rows: a0, a1, p0, p1, n0, n1.
    raw = torch.tensor([0, 10, 1, 11, 2, 12], dtype=torch.float32)
    for row, value in enumerate(raw):
        for c in range(3):
            expected = (value - MEAN[c]) / STD[c]
            assert torch.allclose(x[row, c], torch.full((8, 8), expected))
    assert len(out['data_samples']) == 2
    # Single images: a list and a stacked tensor give the same batch.
    images = [torch.full((3, 4, 4), v, dtype=torch.uint8) for v in (0, 255)]
    a = pre(dict(inputs=images))['inputs']
    b = pre(dict(inputs=torch.stack(images)))['inputs']
    assert torch.equal(a, b)
    assert torch.allclose(a[1, 2], torch.full((4, 4), (255 - 30) / 5.0))


def test_preprocessor_errors_name_the_image():
    pre = MODELS.build(dict(type='PoseDataPreprocessor'))
    samples = [PoseDataSample(metainfo=dict(img_path=p))
               for p in ('a.png', 'b.png')]
    bad = dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8),
                       torch.zeros(3, 8, 9, dtype=torch.uint8)],
               data_samples=samples)
    with pytest.raises(ValueError, match=r'sample 1 \(b.png\)'):
        pre(bad)
    with pytest.raises(ValueError, match='channels first'):
        pre(dict(inputs=[torch.zeros(8, 8, 3, dtype=torch.uint8)]))
    with pytest.raises(ValueError, match='triplets'):
        pre(dict(inputs=torch.zeros(2, 4, 3, 8, 8)))
    with pytest.raises(ValueError, match='std must be positive'):
        MODELS.build(dict(type='PoseDataPreprocessor', std=(1, 0, 1)))


def _pretrainer(**head) -> torch.nn.Module:
    return MODELS.build(
        dict(type='ContrastivePretrainer',
             data_preprocessor=dict(type='PoseDataPreprocessor', mean=MEAN,
                                    std=STD),
             backbone=dict(type='TorchvisionResNet', depth=18),
             neck=dict(type='ProjectionNeck', out_channels=64,
                       hidden_channels=128),
             head=dict(type='CosineContrastiveHead', **head)))


def test_pretrainer_loss_matches_the_embeddings():
    torch.manual_seed(0)
    model = _pretrainer(margin=0.3, margin_per_frame=0.1)
    model.eval()  # fixed BN statistics so both passes agree
    data = model.data_preprocessor(_triplets(3, 32))
    losses = model(**data, mode='loss')
    z = model(data['inputs'], mode='tensor')
    assert z.shape == (9, 64)
    assert torch.allclose(z.norm(dim=1), torch.ones(9), atol=1e-6)
    a, p, n = z[:3], z[3:6], z[6:]
    # Margins 0.3 + 0.1 * (1, 2, 3).
    expected = triplet_cosine_loss(a, p, n, torch.tensor([0.4, 0.5, 0.6]))
    assert losses['loss'].item() == pytest.approx(expected.mean().item(),
                                                  rel=1e-5, abs=1e-7)
    assert losses['pos_sim'].item() == pytest.approx(
        F.cosine_similarity(a, p).mean().item(), rel=1e-5)
    assert losses['neg_sim'].item() == pytest.approx(
        F.cosine_similarity(a, n).mean().item(), rel=1e-5)
    # extract_feat gives the pooled backbone features.
    assert model.extract_feat(data['inputs']).shape == (9, 512)
    # predict gives each triplet's anchor embedding.
    out = model(**data, mode='predict')
    assert torch.allclose(out[2].pred_embedding, a[2])


def test_pretrainer_train_step_sums_only_losses():
    torch.manual_seed(0)
    model = _pretrainer(mode='infonce', temperature=0.5)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    before = model.neck.mlp[0].weight.clone()
    log = model.train_step(_triplets(2, 32), optim)
    assert set(log) == {'loss', 'pos_sim', 'neg_sim'}
    # parse_losses sums the keys containing 'loss' only.
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.neck.mlp[0].weight)


def test_pretrainer_rejects_non_triplet_batches():
    model = _pretrainer()
    data = model.data_preprocessor(
        dict(inputs=[torch.zeros(3, 32, 32, dtype=torch.uint8)] * 4,
             data_samples=_triplets(4)['data_samples']))
    with pytest.raises(ValueError, match='triplet batches'):
        model(**data, mode='loss')
