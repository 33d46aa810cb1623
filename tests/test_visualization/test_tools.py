"""tools/visualize_pose.py and tools/analysis/embedding_map.py, run on a toy
model whose embedding is its input rotation, so every number is known."""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from scipy.spatial.transform import Rotation

from posessl.evaluation import random_pick_rotation_error
from posessl.registry import DATASETS, MODELS
from posessl.structures import PoseDataSample
from posessl.visualization import (
    GT_COLOR,
    PRED_COLOR,
    draw_pose,
    load_rgb,
    save_png,
)
from tests.test_engine._cli import load_tool

CAM_K = np.array([[60.0, 0.0, 32.0], [0.0, 60.0, 24.0], [0.0, 0.0, 1.0]])
POINTS = np.random.default_rng(0).normal(size=(100, 3)) * [12.0, 9.0, 7.0]
TURN = Rotation.from_euler('z', 10, degrees=True).as_matrix()


@DATASETS.register_module(force=True)
class ToyViewDataset:
    """Frames of one object at random rotations; the input is R itself."""

    def __init__(self, n: int, seed: int, image_dir: str = None,
                 pipeline=None) -> None:
        self.R = Rotation.random(n, random_state=seed).as_matrix()
        self.metainfo = dict(obj_ids=(1, ), classes=('ape', ),
                             model_points={1: POINTS}, diameters={1: 40.0},
                             symmetric_obj_ids=())
        self.paths = []
        for i in range(n):
            path = os.path.join(image_dir or '/nowhere', f'{seed}_{i}.png')
            if image_dir:
                save_png(path, np.full((48, 64, 3), 30 + i, np.uint8))
            self.paths.append(path)

    def __len__(self) -> int:
        return len(self.R)

    def get_data_info(self, idx: int) -> dict:
        return dict(img_path=self.paths[idx])

    def __getitem__(self, idx: int) -> dict:
        s = PoseDataSample(metainfo=dict(
            img_path=self.paths[idx], obj_id=1, scene_id=2, im_id=idx,
            cam_K=CAM_K, ori_shape=(48, 64)))
        s.gt_R = torch.tensor(self.R[idx], dtype=torch.float32)
        s.gt_t = torch.tensor([0.0, 0.0, 250.0])
        return dict(inputs=s.gt_R.flatten(), data_samples=s)


@MODELS.register_module(force=True)
class ToyViewModel(BaseModel):
    """Embeds ``normalize(W vec(R))``; a checkpoint with W = I makes cosine
    similarity ``trace(R1^T R2) / 3``, i.e. exact nearest rotations.
    Predicts the GT turned 10 degrees about z and moved 5 mm in x."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Linear(9, 9, bias=False)

    def extract_feat(self, inputs):
        return torch.stack(inputs) if isinstance(inputs, list) else inputs

    def embed(self, inputs):
        return F.normalize(self.proj(self.extract_feat(inputs)), dim=1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode != 'predict':
            return self.embed(inputs)
        for s in data_samples:
            s.pred_R = s.gt_R @ torch.tensor(TURN, dtype=torch.float32)
            s.pred_t = s.gt_t + torch.tensor([5.0, 0.0, 0.0])
        return data_samples


@pytest.fixture
def setup(tmp_path):
    ckpt = tmp_path / 'toy.pth'
    model = ToyViewModel()
    with torch.no_grad():
        model.proj.weight.copy_(torch.eye(9))
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    images = tmp_path / 'images'
    loader = ("dict(batch_size=4, num_workers=0, "
              "sampler=dict(type='DefaultSampler', shuffle=True), "
              "collate_fn=dict(type='pseudo_collate'), dataset=dict("
              "type='ToyViewDataset', image_dir={!r}, n={}, seed={}))")
    config = tmp_path / 'toy_config.py'
    config.write_text('\n'.join([
        "default_scope = 'posessl'",
        "model = dict(type='ToyViewModel')",
        'train_dataloader = ' + loader.format(str(images), 40, 1),
        'test_dataloader = ' + loader.format(str(images), 15, 2),
    ]) + '\n')
    return str(config), str(ckpt), tmp_path


def expected_picture(R, path):
    image = load_rgb(path)
    t = np.array([0.0, 0.0, 250.0])
    out = draw_pose(image, POINTS, R, t, CAM_K, color=GT_COLOR)
    return draw_pose(out, POINTS, R.astype(np.float32) @ TURN.astype(
        np.float32), t + [5, 0, 0], CAM_K, color=PRED_COLOR)


def test_visualize_pose_tool(setup):
    config, ckpt, tmp = setup
    tool = load_tool('tools/visualize_pose.py')
    out_dir = tmp / 'vis'
    tool.main([config, ckpt, '--out-dir', str(out_dir), '--num', '3',
               '--device', 'cpu'])
    names = sorted(os.listdir(out_dir))
    assert names == [f'000002_{i:06d}_obj000001.png' for i in range(3)]
    data = ToyViewDataset(15, 2)
    for i, name in enumerate(names):
        got = load_rgb(str(out_dir / name))
        want = expected_picture(data.R[i].astype(np.float32).astype(float),
                                str(tmp / 'images' / f'2_{i}.png'))
        assert (got == np.array(PRED_COLOR, np.uint8)).all(-1).sum() > 10
        # float32 rounding may move a line end by a pixel: compare masks
        for color in (GT_COLOR, PRED_COLOR):
            a = (got == color).all(-1)
            b = (want == color).all(-1)
            assert (a != b).sum() <= 0.02 * b.sum()
    # --images picks frames by file name
    out_dir2 = tmp / 'vis2'
    tool.main([config, ckpt, '--out-dir', str(out_dir2), '--images',
               '2_7.png', '2_11.png', '--device', 'cpu'])
    assert sorted(os.listdir(out_dir2)) == [
        '000002_000007_obj000001.png', '000002_000011_obj000001.png']
    with pytest.raises(SystemExit, match='none of the images'):
        tool.main([config, ckpt, '--out-dir', str(out_dir2), '--images',
                   'nope.png'])
    with pytest.raises(SystemExit, match='missing.pth'):
        tool.main([config, str(tmp / 'missing.pth')])


def test_embedding_map_tool(setup, capsys):
    config, ckpt, tmp = setup
    tool = load_tool('tools/analysis/embedding_map.py')
    out = tmp / 'map.png'
    args = tool.parse_args([config, ckpt, '--out', str(out), '--method',
                            'pca', '--device', 'cpu'])
    errors = tool.analyse(args)
    printed = capsys.readouterr().out
    query, db = ToyViewDataset(15, 2).R, ToyViewDataset(40, 1).R
    # trained: exactly the smallest rotation difference to any db frame
    brute = np.array([min(np.degrees(Rotation.from_matrix(q.T @ d)
                                     .magnitude()) for d in db)
                      for q in query])
    trained = errors['trained (checkpoint)'].numpy()
    np.testing.assert_allclose(trained, brute, atol=0.05)
    # untrained can only be worse, query by query
    untrained = errors['untrained (seed 0)'].numpy()
    assert (untrained >= trained - 1e-3).all()
    assert np.median(untrained) > np.median(trained)
    rand = random_pick_rotation_error(
        torch.tensor(query, dtype=torch.float32).double(),
        torch.tensor(db, dtype=torch.float32).double(), seed=0,
        query_groups=np.ones(15, int), db_groups=np.ones(40, int))
    np.testing.assert_allclose(errors['random pick (seed 0)'].numpy(),
                               rand.numpy(), atol=1e-6)
    assert f'{np.median(trained):9.2f}' in printed
    assert '15 query frames, 40 database frames' in printed
    assert out.is_file() and load_rgb(str(out)).shape[2] == 3
    # the untrained baseline is reproducible
    again = tool.analyse(args)['untrained (seed 0)'].numpy()
    np.testing.assert_array_equal(again, untrained)


def test_pca_and_tsne_maps():
    tool = load_tool('tools/analysis/embedding_map.py')
    rng = np.random.default_rng(0)
    # points on a 2-D plane inside 6-D space: PCA keeps every distance
    plane = rng.normal(size=(30, 2)) * [5.0, 1.0]
    basis = np.linalg.qr(rng.normal(size=(6, 2)))[0]
    x = plane @ basis.T + 3.0
    y = tool.pca_2d(x)

    def dists(a):
        return np.linalg.norm(a[:, None] - a[None], axis=-1)

    np.testing.assert_allclose(dists(y), dists(plane), atol=1e-9)
    # two far-apart clusters stay apart under t-SNE
    blobs = np.concatenate([rng.normal(size=(25, 10)),
                            rng.normal(size=(25, 10)) + 12.0])
    labels = np.repeat([0, 1], 25)
    emb = tool.tsne_2d(blobs, perplexity=10, seed=0)
    d = dists(emb)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(1)] == labels).all()
    within = max(d[:25, :25][np.isfinite(d[:25, :25])].max(),
                 d[25:, 25:][np.isfinite(d[25:, 25:])].max())
    assert d[:25, 25:].min() > 0.5 * within
