"""A tiny pose model on the session's synthetic set: a config with 32 px
crops and an untrained checkpoint (its state dict, no training), so the
inferencer, ``tools/test.py`` and the Runner can be compared frame by
frame."""
import copy
import json
from pathlib import Path
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from posessl.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / 'configs' / 'pose' / (
    'pose_r18-scratch_1xb32-600it_synthetic-10pct.py')
CROP = 32


def tiny_config(root: Path, detections: Optional[Path] = None) -> Config:
    """The shipped scratch pose config on ``root`` with 32 px crops and
    batches of 8; with ``detections``, crops from that BOP detections file
    and no mask (no background fill, depth against the crop window)."""
    cfg = Config.fromfile(str(BASE))
    pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    for t in pipeline:
        if t['type'] == 'MaskCenteredCrop':
            t['out_size'] = CROP
    options = {
        'train_dataloader.dataset.data_root': str(root),
        'test_dataloader.dataset.data_root': str(root),
        'model.objects.models_dir': str(root / 'models'),
        'test_dataloader.batch_size': 8,
        'model.head.decoder.depth_ref': ('crop' if detections
                                         else 'mask_area'),
    }
    if detections:
        pipeline = [t for t in pipeline if t['type'] != 'MaskBackground']
        crop = next(t for t in pipeline if t['type'] == 'MaskCenteredCrop')
        crop.update(box_source='detections',
                    detections_file=str(detections))
    options['test_dataloader.dataset.pipeline'] = pipeline
    cfg.merge_from_dict(options)
    return cfg


def frame_infos(cfg: Config) -> List[dict]:
    """The data infos of the config's test split, in loader order."""
    with DefaultScope.overwrite_default_scope('posessl'):
        dataset = DATASETS.build(cfg.test_dataloader.dataset.to_dict())
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def write_detections(path: Path, infos: List[dict]) -> Path:
    """A BOP detections file holding each test frame's visible box, plus a
    lower-scoring decoy box per frame that must not be used."""
    dets = []
    for info in infos:
        key = dict(scene_id=int(info['scene_id']),
                   image_id=int(info['im_id']),
                   category_id=int(info['obj_id']))
        dets.append(dict(key, bbox=list(map(float, info['bbox'])),
                         score=0.9))
        dets.append(dict(key, bbox=[0.0, 0.0, 20.0, 20.0], score=0.1))
    path.write_text(json.dumps(dets))
    return path


def tiny_checkpoint(cfg: Config, out_dir: Path,
                    with_meta: bool = True) -> Tuple[str, dict]:
    """Save an untrained model of ``cfg`` (seeded; rotation outputs scaled
    up so that every frame gets its own pose) and return the path and the
    dataset metainfo stored in its ``meta``."""
    with DefaultScope.overwrite_default_scope('posessl'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model.to_dict())
        metainfo = DATASETS.build(
            cfg.test_dataloader.dataset.to_dict()).metainfo
    with torch.no_grad():
        model.head.rot_out.weight.mul_(30.0)
        model.head.site_out.weight.mul_(3.0)
    ckpt = dict(state_dict=model.state_dict())
    if with_meta:
        ckpt['meta'] = dict(dataset_meta=dict(metainfo))
    name = 'tiny_pose.pth' if with_meta else 'tiny_pose_bare.pth'
    path = out_dir / name
    torch.save(ckpt, path)
    return str(path), dict(metainfo)
