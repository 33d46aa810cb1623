"""ADD-S speed: posessl's batched ``adds_error`` against a per-pose KD-tree.

    python benchmarks/metric.py [--num-poses 10000] [--num-points 3000]
        [--device auto|cpu|cuda] [--backend auto|kdtree|brute] [--seed 0]

The baseline is the straightforward way the BOP toolkit scores ADD-S: for
each pose, transform the model by both poses, build a KD-tree on the
estimated points and query it with the ground-truth points. Both run in the
same process on the same poses; the script checks that they agree and
prints the times and their ratio.

The model is 3,000 points on the surface of an ape-sized ellipsoid (mm);
poses are random rotations at about 1 m, and predictions are the ground
truth disturbed by a random rotation (about 10 degrees) and translation
(about 10 mm), like a reasonable pose estimator's output.
"""
import argparse
import platform
import time

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from posessl.evaluation.functional import adds_error


def make_problem(num_poses: int, num_points: int, seed: int):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(num_points, 3))
    points = v / np.linalg.norm(v, axis=1, keepdims=True) * [38.0, 39.0, 46.0]
    gt_R = Rotation.random(num_poses, random_state=seed).as_matrix()
    gt_t = rng.normal(size=(num_poses, 3)) * [60, 60, 100] + [0, 0, 1000]
    noise = Rotation.from_rotvec(
        rng.normal(size=(num_poses, 3)) * np.radians(10) / np.sqrt(3))
    pred_R = (Rotation.from_matrix(gt_R) * noise).as_matrix()
    pred_t = gt_t + rng.normal(size=(num_poses, 3)) * 10
    return points, pred_R, pred_t, gt_R, gt_t


def per_pose_kdtree(points, pred_R, pred_t, gt_R, gt_t) -> np.ndarray:
    """The baseline: one tree of estimated points per pose."""
    out = np.empty(len(pred_R))
    for i in range(len(pred_R)):
        est = points @ pred_R[i].T + pred_t[i]
        gt = points @ gt_R[i].T + gt_t[i]
        dist, _ = cKDTree(est).query(gt, k=1)
        out[i] = dist.mean()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-poses', type=int, default=10000)
    parser.add_argument('--num-points', type=int, default=3000)
    parser.add_argument('--device', default='auto')
    parser.add_argument('--backend', default='auto',
                        choices=['auto', 'kdtree', 'brute'])
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    device = ('cuda' if torch.cuda.is_available() else 'cpu') \
        if args.device == 'auto' else args.device
    problem = make_problem(args.num_poses, args.num_points, args.seed)
    points, pred_R, pred_t, gt_R, gt_t = problem

    if device == 'cuda':  # warm-up: CUDA context and kernels
        adds_error(points, pred_R[:8], pred_t[:8], gt_R[:8], gt_t[:8],
                   device=device, backend=args.backend)
        torch.cuda.synchronize()
    start = time.perf_counter()
    ours = adds_error(points, pred_R, pred_t, gt_R, gt_t, device=device,
                      backend=args.backend)
    ours = ours.cpu().numpy()  # includes the copy back (and CUDA sync)
    ours_s = time.perf_counter() - start

    start = time.perf_counter()
    base = per_pose_kdtree(*problem)
    base_s = time.perf_counter() - start

    rel = np.abs(ours - base) / np.maximum(base, 1e-12)
    used = args.backend if args.backend != 'auto' else (
        'brute' if device == 'cuda' else 'kdtree')
    print(f'ADD-S of {args.num_poses} poses, {args.num_points}-point model '
          f'(torch {torch.__version__}, {platform.processor() or "cpu"}, '
          f'{torch.get_num_threads()} threads, device {device})')
    print(f'  posessl adds_error ({used:>6}): {ours_s:8.2f} s  '
          f'({1e3 * ours_s / args.num_poses:.3f} ms/pose)')
    print(f'  per-pose cKDTree loop     : {base_s:8.2f} s  '
          f'({1e3 * base_s / args.num_poses:.3f} ms/pose)')
    print(f'  speed-up (baseline / posessl): {base_s / ours_s:.2f}x')
    print(f'  agreement: max relative difference {rel.max():.2e}, '
          f'mean ADD-S {ours.mean():.4f} vs {base.mean():.4f} mm')
    if rel.max() > 1e-6:
        raise SystemExit('posessl and the baseline disagree')


if __name__ == '__main__':
    main()
