"""The quarter-turn pretext: the turns, the head's loss and the pretrainer
that adds it to the relative-viewpoint loss."""
import pytest
import torch
import torch.nn.functional as F

from posessl.models.losses import triplet_cosine_loss
from posessl.registry import MODELS
from posessl.structures import PoseDataSample
from projects.quarter_turn.quarter_turn import quarter_turns

CONFIG = dict(
    type='QuarterTurnPretrainer',
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=(10., 20., 30.),
                           std=(2., 4., 5.)),
    backbone=dict(type='TorchvisionResNet', depth=18),
    neck=dict(type='ProjectionNeck', out_channels=64, hidden_channels=128),
    head=dict(type='CosineContrastiveHead', margin=0.3),
    turn_head=dict(type='QuarterTurnHead'))
#: The same model without the pretext: the core's pretrainer.
PLAIN = dict({k: v for k, v in CONFIG.items() if k != 'turn_head'},
             type='ContrastivePretrainer')


def _pretrainer() -> torch.nn.Module:
    torch.manual_seed(0)
    return MODELS.build(CONFIG)


def _triplets(batch: int, size: int = 8) -> dict:
    """``batch`` triplets of random uint8 crops, one data sample each."""
    g = torch.Generator().manual_seed(batch)
    inputs = [torch.randint(0, 256, (3, 3, size, size), dtype=torch.uint8,
                            generator=g) for _ in range(batch)]
    samples = [PoseDataSample(metainfo=dict(img_path=f'f{i}.png'))
               for i in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def test_quarter_turns_match_a_loop_of_rot90():
    images = torch.arange(6 * 2 * 3 * 3, dtype=torch.float32).reshape(
        6, 2, 3, 3)
    turned, turns = quarter_turns(images)
    # Grouped by turn: images 0, 4 (k=0), 1, 5 (k=1), 2 (k=2), 3 (k=3).
    order = [0, 4, 1, 5, 2, 3]
    assert turns.tolist() == [0, 0, 1, 1, 2, 3]
    for row, (i, k) in enumerate(zip(order, turns.tolist())):
        expected = images[i]
        for _ in range(k):  # one counter-clockwise quarter turn, by hand
            expected = torch.stack([m.t().flip(0) for m in expected])
        assert torch.equal(turned[row], expected)
    # A hand case: [[1, 2], [3, 4]] a quarter turn counter-clockwise.
    one = torch.tensor([[[[9., 9.], [9., 9.]]], [[[1., 2.], [3., 4.]]]])
    assert quarter_turns(one)[0][1, 0].tolist() == [[2., 4.], [1., 3.]]
    with pytest.raises(ValueError, match='square'):
        quarter_turns(torch.zeros(2, 3, 4, 5))


def test_quarter_turn_head_loss_is_cross_entropy():
    head = MODELS.build(dict(type='QuarterTurnHead', in_channels=3,
                             loss_weight=2.0))
    with torch.no_grad():
        head.fc.weight.copy_(torch.eye(4, 3))
        head.fc.bias.zero_()
    feats = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    turns = torch.tensor([0, 2])
    out = head.loss(feats, turns)
    # Logits (5, 0, 0, 0) and (0, 0, 0, 0): -log softmax by hand.
    first = -(5.0 - torch.log(torch.exp(torch.tensor(5.0)) + 3.0))
    second = torch.log(torch.tensor(4.0))
    assert out['loss_turn'].item() == pytest.approx(
        2.0 * float(first + second) / 2, rel=1e-6)
    # The first is recognised; the second's argmax (a tie) is turn 0.
    assert out['turn_acc'].item() == pytest.approx(0.5)


def test_pretrainer_adds_the_turn_loss():
    model = _pretrainer()
    assert model.turn_head.fc.in_features == 512
    model.eval()  # fixed BN statistics: the joint call equals separate ones
    # Random anchors are not turn-invariant: the turn changes the features.
    data = model.data_preprocessor(_triplets(5, 32))
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_view', 'pos_sim', 'neg_sim', 'loss_turn',
                           'turn_acc'}
    z = model(data['inputs'], mode='tensor')
    expected_view = triplet_cosine_loss(z[:5], z[5:10], z[10:],
                                        torch.full((5, ), 0.3)).mean()
    assert losses['loss_view'].item() == pytest.approx(
        expected_view.item(), rel=1e-5, abs=1e-7)
    turned, turns = quarter_turns(data['inputs'][:5])
    logits = model.turn_head(model.extract_feat(turned))
    assert losses['loss_turn'].item() == pytest.approx(
        F.cross_entropy(logits, turns).item(), rel=1e-5)
    # MMEngine sums both into the logged and optimised 'loss'.
    total, log_vars = model.parse_losses(losses)
    assert total.item() == pytest.approx(
        losses['loss_view'].item() + losses['loss_turn'].item(), rel=1e-6)
    assert log_vars['loss'].item() == pytest.approx(total.item())


def test_the_checkpoint_is_the_plain_pretrainers_plus_the_turn_head():
    """A pose model loads the backbone (``backbone.*``) as from the plain
    pretrainer; ``turn_head.*`` is all that the pretext adds."""
    turn = _pretrainer().state_dict()
    plain = MODELS.build(PLAIN)
    extra = set(turn) - set(plain.state_dict())
    assert extra == {'turn_head.fc.weight', 'turn_head.fc.bias'}
    assert set(plain.state_dict()) <= set(turn)


def test_the_turn_head_is_required():
    with pytest.raises(TypeError, match='turn_head'):
        MODELS.build(dict(PLAIN, type='QuarterTurnPretrainer'))
