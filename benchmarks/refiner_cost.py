"""Test-time cost of ``SilhouetteDepthRefiner`` against the pose model alone.

Prints, measured in one run on the same test frames of a generated set:

* the pose model's ``test_step`` per frame without a refiner (the baseline:
  preprocessing, backbone, head, decoding);
* the same with ``SilhouetteDepthRefiner`` (``--iters`` silhouettes drawn per
  frame at ``--supersample`` x the image size), and the ratio;
* the refiner's own share per frame (the difference).

The model's weights do not change the cost, so a checkpoint is optional
(without one the config's architecture with fresh weights is timed). Each
figure is the best of ``--repeats`` passes after a warm-up pass (the first
pass also reads the meshes and makes the EGL context), since the machine may
be shared.

Example::

    python benchmarks/refiner_cost.py        # the real-mesh set, 64 frames
    python benchmarks/refiner_cost.py --frames 200 --iters 3
"""
import argparse
import os.path as osp
import sys
import time
from typing import List

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from posessl.apis.builders import (  # noqa: E402
    build_dataset,
    build_inference_model,
)
from posessl.registry import MODELS  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--config',
        default='configs/pose/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py')
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--data-root', default='data/realmesh_lmo')
    parser.add_argument('--frames', type=int, default=64)
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--iters', type=int, default=2)
    parser.add_argument('--supersample', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s)')
    return parser.parse_args()


def best_pass(model, batches: List[dict], repeats: int) -> float:
    """Best wall time (s) of ``repeats`` passes over ``batches`` (after a
    warm-up pass)."""
    times = []
    for k in range(repeats + 1):
        start = time.perf_counter()
        with torch.no_grad():
            for batch in batches:
                model.test_step(batch)
        if k:
            times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models_dir = osp.join(args.data_root, 'models')
    if not osp.isdir(models_dir):
        sys.exit(f'error: {models_dir}: not found; generate the set first '
                 '(see the config\'s header)')
    cfg = Config.fromfile(osp.join(REPO, args.config))
    cfg.test_dataloader.dataset.data_root = args.data_root
    cfg.model.objects = dict(models_dir=models_dir)
    model = build_inference_model(cfg, args.checkpoint, seed=0)
    dataset = build_dataset(cfg.test_dataloader.dataset)
    n = min(args.frames, len(dataset))
    samples = [dataset[i] for i in range(n)]
    batches = [pseudo_collate(samples[i:i + args.batch])
               for i in range(0, n, args.batch)]
    plain = best_pass(model, batches, args.repeats)
    model.refiner = MODELS.build(
        dict(type='SilhouetteDepthRefiner', models_dir=models_dir,
             iters=args.iters, supersample=args.supersample))
    refined = best_pass(model, batches, args.repeats)
    ms = 1000.0 / n
    print(f'{n} test frames of {args.data_root}, batch {args.batch}, '
          f'{torch.get_num_threads()} thread(s), best of {args.repeats}')
    print(f'pose model alone (baseline):  {plain * ms:7.2f} ms / frame')
    print(f'with SilhouetteDepthRefiner:  {refined * ms:7.2f} ms / frame '
          f'({args.iters} silhouettes at {args.supersample}x)  '
          f'ratio {refined / plain:.2f}x')
    print(f'the refiner itself:           {(refined - plain) * ms:7.2f} ms '
          '/ frame')


if __name__ == '__main__':
    main()
