"""How different are the viewpoints the triplet sampler pairs up?

    python tools/analysis/triplet_views.py SSL_CONFIG [--epochs 3]
        [--seed 0] [--cfg-options key=value ...]

Relative-viewpoint pretraining assumes that frames a few ids apart show
neighbouring viewpoints and frames far apart do not. On a training split
whose poses are known (pretraining never reads them), this draws the
config's ``TripletSampler`` triplets for ``--epochs`` epochs and prints, per
object, the rotation between anchor and positive and between anchor and
negative: a negative within a few degrees of its anchor is a false negative
(the loss pushes apart two images of the same view). Rotation differences
are geodesic angles between the annotated model-to-camera rotations, as in
``tools/analysis/embedding_map.py``. For an object with symmetries in the
BOP ``models/models_info.json`` of a ``LinemodBOPDataset`` (marked ``S``),
they are taken up to the symmetry (the smallest angle over its discrete
symmetries; for a continuous one, the angle between the images of its
axis), since two such rotations show the same image.
"""
import argparse
import os
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import DictAction

import posessl  # noqa: F401  (registers every component)
from posessl.engine import enable_checkpoint_safety
from posessl.engine.cli import (
    UserError,
    add_debug_argument,
    load_config,
    run_tool,
)
from posessl.geometry import geodesic_distance
from posessl.registry import DATA_SAMPLERS, DATASETS
from posessl.structures.io import int_keyed, read_json

#: Thresholds (degrees) of the "near view" columns.
NEAR_DEG = (15.0, 30.0)


def read_symmetries(models_info_path: str) -> Dict[int, dict]:
    """``{obj_id: {'discrete': (K, 3, 3), 'axes': (A, 3)}}`` of the objects
    with symmetries in a BOP ``models_info.json`` (rotation parts only)."""
    info = int_keyed(read_json(models_info_path), models_info_path)
    out = {}
    for obj_id, entry in info.items():
        discrete = [np.reshape(m, (4, 4))[:3, :3]
                    for m in entry.get('symmetries_discrete', [])]
        axes = [np.asarray(c['axis'], float)
                for c in entry.get('symmetries_continuous', [])]
        if discrete or axes:
            out[obj_id] = {
                'discrete': np.array(discrete).reshape(-1, 3, 3),
                'axes': np.array(axes).reshape(-1, 3)}
    return out


def view_angle(R_a: np.ndarray, R_b: np.ndarray,
               symmetry: Optional[dict] = None) -> float:
    """Rotation difference (degrees) of two model-to-camera rotations, up
    to the object's ``symmetry`` (see :func:`read_symmetries`)."""
    R = torch.as_tensor(np.stack([R_a, R_b]), dtype=torch.float64)
    best = float(geodesic_distance(R[0], R[1]))
    if symmetry:
        for S in symmetry['discrete']:
            S = torch.as_tensor(S, dtype=torch.float64)
            best = min(best, float(geodesic_distance(R[0], R[1] @ S)))
        for axis in symmetry['axes']:
            # the rotations R_b Rot(axis, theta) are those mapping the axis
            # as R_b does: the closest to R_a is as far as the two images
            # of the axis are apart
            u, v = R_a @ axis, R_b @ axis
            cos = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
            best = min(best, float(np.arccos(np.clip(cos, -1.0, 1.0))))
    return float(np.degrees(best))


def triplet_angles(dataset, sampler, epochs: int,
                   symmetries: Optional[Dict[int, dict]] = None
                   ) -> Dict[int, np.ndarray]:
    """``{obj_id: (N, 2) degrees}``: anchor-positive and anchor-negative
    rotation differences (up to the object's symmetry, if given) of every
    triplet drawn in ``epochs`` epochs."""
    symmetries = symmetries or {}
    rows: Dict[int, List[tuple]] = {}
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for triplet in sampler:
            info = [dataset.get_data_info(i) for i in triplet]
            obj = int(info[0]['obj_id'])
            R = [np.asarray(i['gt_R'], float) for i in info]
            rows.setdefault(obj, []).append(
                [view_angle(R[0], other, symmetries.get(obj))
                 for other in R[1:]])
    return {obj: np.array(v) for obj, v in sorted(rows.items())}


def format_report(angles: Dict[int, np.ndarray], names: Dict[int, str],
                  symmetric: set) -> str:
    """One row per object and one for all: positive and negative angles."""
    near = ' '.join(f'neg<{d:g}deg%' for d in NEAR_DEG)
    lines = [f'{"object":<14} {"triplets":>8} {"pos med":>8} {"pos p95":>8} '
             f'{"neg med":>8} {near}  neg<pos%']
    items = list(angles.items())
    if len(items) > 1:
        items.append(('all', np.concatenate([a for _, a in items])))
    for obj, a in items:
        pos, neg = a[:, 0], a[:, 1]
        label = 'all' if obj == 'all' else (
            f'{names.get(obj, obj)}' + (' S' if obj in symmetric else ''))
        fractions = ' '.join(
            f'{100 * np.mean(neg < d):>{len(f"neg<{d:g}deg%")}.1f}'
            for d in NEAR_DEG)
        lines.append(
            f'{label:<14} {len(a):>8} {np.median(pos):>8.1f} '
            f'{np.percentile(pos, 95):>8.1f} {np.median(neg):>8.1f} '
            f'{fractions}  {100 * np.mean(neg < pos):>8.1f}')
    return '\n'.join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Viewpoint differences of the triplet sampler\'s pairs')
    parser.add_argument('config', help='a pretraining config (its '
                        'train_dataloader has the TripletSampler)')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0,
                        help='the sampler\'s seed')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_debug_argument(parser)
    return parser.parse_args(argv)


def analyse(args: argparse.Namespace) -> Dict[int, np.ndarray]:
    cfg = load_config(args.config, args.cfg_options)
    loader = cfg.get('train_dataloader') or {}
    if 'sampler' not in loader or 'dataset' not in loader:
        raise UserError(f'config {args.config!r} has no train_dataloader '
                        'with a sampler and a dataset')
    if args.epochs < 1:
        raise UserError(f'--epochs must be >= 1, got {args.epochs}')
    dataset = DATASETS.build(loader['dataset'])
    sampler = DATA_SAMPLERS.build(
        dict(loader['sampler'], dataset=dataset, seed=args.seed))
    root = getattr(getattr(dataset, 'dataset', dataset), 'data_root', '')
    info_path = os.path.join(root or '', 'models', 'models_info.json')
    symmetries = read_symmetries(info_path) if os.path.isfile(
        info_path) else {}
    angles = triplet_angles(dataset, sampler, args.epochs, symmetries)
    meta = dataset.metainfo
    names = dict(zip(meta.get('obj_ids', ()), meta.get('classes', ())))
    print(f'{args.epochs} epoch(s) of {type(sampler).__name__} triplets; '
          'rotation differences in degrees (S: up to the object\'s '
          'symmetry)')
    print(format_report(angles, names, set(symmetries)))
    return angles


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    enable_checkpoint_safety()
    run_tool(lambda: analyse(args), debug=args.debug)


if __name__ == '__main__':
    main()
