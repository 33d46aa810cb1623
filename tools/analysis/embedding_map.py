"""How well a pretrained backbone's latent space follows the viewpoint.

    python tools/analysis/embedding_map.py CONFIG CHECKPOINT [--out map.png]
        [--method pca|tsne] [--feature embed|backbone] [--max-frames N]
        [--query test_dataloader] [--database train_dataloader]
        [--seed 0] [--device cpu|cuda] [--cfg-options key=value ...]

Embeds the frames of the config's ``--database`` loader (training frames;
wrappers such as ``TripletDataset`` are unwrapped and the query loader's
pipeline is used, so no augmentation) and of its ``--query`` loader (test
frames) with the model's ``embed`` (``--feature embed``, the normalised
projection of a ``ContrastivePretrainer``) or ``extract_feat`` (``backbone``,
the pooled backbone features). No pose label is used to embed; the ground
truth only scores the result. It prints, for

* the checkpoint,
* the same architecture freshly initialised with ``--seed`` (untrained),
* a random pick of a database frame of the same object (chance),

the median / mean rotation difference between each query frame and its
nearest database frame (cosine similarity, same object only), and draws a
2-D map (PCA or t-SNE) of the checkpoint's embeddings coloured by the
camera's azimuth and elevation in the object frame.
"""
import argparse
import math
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import DictAction

import posessl  # noqa: F401  (registers every component)
from posessl.apis import (
    build_dataset,
    build_inference_model,
    build_loader,
    select_indices,
    unwrap_dataset_cfg,
)
from posessl.engine import enable_checkpoint_safety
from posessl.engine.cli import (
    UserError,
    add_debug_argument,
    load_config,
    run_tool,
)
from posessl.evaluation import (
    camera_viewpoint,
    nearest_neighbour_rotation_error,
    random_pick_rotation_error,
)

#: t-SNE keeps an (N, N) matrix: beyond this, ask for fewer frames.
TSNE_MAX_POINTS = 5000


# ---------------------------------------------------------------- 2-D maps
def pca_2d(x: np.ndarray) -> np.ndarray:
    """Projection (N, 2) onto the two principal axes of the centred data."""
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def _conditional_p(dist2: np.ndarray, perplexity: float) -> np.ndarray:
    """Row-wise Gaussian affinities whose entropy is ``log(perplexity)``,
    each row's precision found by bisection."""
    n = len(dist2)
    target = math.log(perplexity)
    P = np.zeros((n, n))
    for i in range(n):
        d = np.delete(dist2[i], i)
        d = d - d.min()
        lo, hi, beta = 0.0, math.inf, 1.0
        for _ in range(64):
            w = np.exp(-d * beta)
            total = w.sum()
            p = w / total
            entropy = math.log(total) + beta * float((d * p).sum())
            if abs(entropy - target) < 1e-5:
                break
            if entropy > target:
                lo = beta
                beta = beta * 2 if hi == math.inf else (beta + hi) / 2
            else:
                hi = beta
                beta = (beta + lo) / 2
        P[i, np.arange(n) != i] = p
    return P


def tsne_2d(x: np.ndarray, perplexity: float = 30.0, iters: int = 750,
            seed: int = 0) -> np.ndarray:
    """Exact t-SNE (van der Maaten and Hinton, 2008) to 2-D, in numpy.

    Symmetrised Gaussian affinities at the given perplexity, Student-t
    similarities in the map, gradient descent with momentum (0.5 then 0.8),
    adaptive gains and early exaggeration (12 for the first 250 steps).
    O(N^2) memory: meant for at most a few thousand frames.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n < 4:
        return pca_2d(x) if n > 1 else np.zeros((n, 2))
    perplexity = min(perplexity, (n - 1) / 3.0)
    sq = (x * x).sum(1)
    dist2 = np.maximum(sq[:, None] + sq[None] - 2 * x @ x.T, 0.0)
    P = _conditional_p(dist2, perplexity)
    P = np.maximum((P + P.T) / (2.0 * n), 1e-12)
    rng = np.random.default_rng(seed)
    y = rng.normal(scale=1e-4, size=(n, 2))
    update, gains = np.zeros_like(y), np.ones_like(y)
    lr = max(n / 12.0, 50.0)
    for it in range(iters):
        exaggeration = 12.0 if it < 250 else 1.0
        momentum = 0.5 if it < 250 else 0.8
        ysq = (y * y).sum(1)
        num = 1.0 / (1.0 + np.maximum(ysq[:, None] + ysq[None] -
                                      2 * y @ y.T, 0.0))
        np.fill_diagonal(num, 0.0)
        Q = np.maximum(num / num.sum(), 1e-12)
        W = (exaggeration * P - Q) * num
        grad = 4.0 * (W.sum(1)[:, None] * y - W @ y)
        same = np.sign(grad) == np.sign(update)
        gains = np.where(same, gains * 0.8, gains + 0.2).clip(min=0.01)
        update = momentum * update - lr * gains * grad
        y = y + update
        y = y - y.mean(0)
    return y


# ---------------------------------------------------------------- embedding
def embed_frames(model: torch.nn.Module, loader, feature: str) -> dict:
    """Features and GT poses of every frame of ``loader``."""
    fn = getattr(model, 'embed' if feature == 'embed' else 'extract_feat',
                 None)
    if fn is None:
        raise UserError(
            f'{type(model).__name__} has no '
            f"{'embed' if feature == 'embed' else 'extract_feat'}(); use a "
            'ContrastivePretrainer config, or --feature backbone')
    feats, Rs, ts, objs = [], [], [], []
    with torch.no_grad():
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            z = fn(data['inputs'])
            feats.append(z.float().cpu().reshape(len(z), -1))
            for s in data['data_samples']:
                Rs.append(torch.as_tensor(s.gt_R).double().cpu())
                ts.append(torch.as_tensor(s.gt_t).double().cpu())
                objs.append(int(s.obj_id))
    if not feats:
        raise UserError('the loader yielded no frames')
    return dict(emb=torch.cat(feats), R=torch.stack(Rs), t=torch.stack(ts),
                obj=np.array(objs))


def retrieval_summary(query: dict, database: dict) -> torch.Tensor:
    """Nearest-database-frame rotation errors (deg) of the queries."""
    err, _ = nearest_neighbour_rotation_error(
        query['emb'], database['emb'], query['R'], database['R'],
        query_groups=query['obj'], db_groups=database['obj'])
    return err


def _row(label: str, err: torch.Tensor) -> str:
    e = err.numpy()
    return (f'{label:<28}{np.median(e):>9.2f}{e.mean():>9.2f}'
            f'{100 * (e < 15).mean():>9.1f}{100 * (e < 30).mean():>9.1f}')


def format_report(errors: Dict[str, torch.Tensor], num_query: int,
                  num_db: int) -> str:
    lines = [
        f'Viewpoint retrieval: {num_query} query frames, {num_db} database '
        'frames, nearest neighbour by cosine similarity within each object '
        '(no pose label used to embed)',
        f"{'':<28}{'median':>9}{'mean':>9}{'<15deg%':>9}{'<30deg%':>9}",
    ]
    lines += [_row(label, err) for label, err in errors.items()]
    return '\n'.join(lines)


def draw_map(points: np.ndarray, R: np.ndarray, t: np.ndarray, out: str,
             title: str) -> None:
    """Scatter the 2-D map twice, coloured by azimuth and by elevation."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    azimuth, elevation, _ = camera_viewpoint(R, t)
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, values, cmap, label, lim in (
            (axes[0], azimuth, 'hsv', 'azimuth (deg)', (-180, 180)),
            (axes[1], elevation, 'viridis', 'elevation (deg)', None)):
        sc = ax.scatter(points[:, 0], points[:, 1], c=values, cmap=cmap,
                        s=12, vmin=lim[0] if lim else None,
                        vmax=lim[1] if lim else None)
        fig.colorbar(sc, ax=ax, label=label)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f'coloured by camera {label.split()[0]}')
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------------- main
def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Map a backbone\'s latent space by viewpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='pretrained checkpoint')
    parser.add_argument('--out', default='embedding_map.png')
    parser.add_argument('--method', choices=['pca', 'tsne'], default='pca')
    parser.add_argument('--feature', choices=['embed', 'backbone'],
                        default='embed')
    parser.add_argument('--query', default='test_dataloader',
                        help='config key of the query frames')
    parser.add_argument('--database', default='train_dataloader',
                        help='config key of the database frames')
    parser.add_argument('--max-frames', type=int, default=2000,
                        help='at most this many frames per set (evenly '
                        'spaced)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the untrained model and random pick')
    parser.add_argument('--device', default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_debug_argument(parser)
    return parser.parse_args(argv)


def _frames(cfg, key: str, pipeline, max_frames: int):
    loader_cfg = cfg.get(key)
    if loader_cfg is None or loader_cfg.get('dataset') is None:
        raise UserError(f'config {cfg.filename!r} has no {key} with a '
                        'dataset (choose another with --query/--database)')
    dataset = build_dataset(unwrap_dataset_cfg(loader_cfg['dataset']),
                            pipeline)
    stride = max(1, math.ceil(len(dataset) / max_frames))
    return loader_cfg, dataset, select_indices(dataset, stride=stride)


def analyse(args: argparse.Namespace) -> Dict[str, torch.Tensor]:
    """Run the analysis; returns the error of each method (degrees)."""
    cfg = load_config(args.config, args.cfg_options)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    query_cfg = cfg.get(args.query)
    if query_cfg is None or query_cfg.get('dataset') is None:
        raise UserError(f'config {args.config!r} has no {args.query} with a '
                        'dataset (choose another with --query)')
    pipeline = unwrap_dataset_cfg(query_cfg['dataset']).get('pipeline')
    q_cfg, q_set, q_idx = _frames(cfg, args.query, pipeline,
                                  args.max_frames)
    d_cfg, d_set, d_idx = _frames(cfg, args.database, pipeline,
                                  args.max_frames)
    if args.method == 'tsne' and len(q_idx) + len(d_idx) > TSNE_MAX_POINTS:
        raise UserError(f't-SNE of {len(q_idx) + len(d_idx)} frames needs '
                        'too much memory: lower --max-frames or use pca')

    def run(model):
        return tuple(
            embed_frames(model, build_loader(c, s, i), args.feature)
            for c, s, i in ((q_cfg, q_set, q_idx), (d_cfg, d_set, d_idx)))

    trained = build_inference_model(cfg, args.checkpoint, device=device)
    query, database = run(trained)
    fresh = build_inference_model(cfg, None, device=device, seed=args.seed)
    fresh_q, fresh_d = run(fresh)
    errors = {
        'trained (checkpoint)': retrieval_summary(query, database),
        f'untrained (seed {args.seed})': retrieval_summary(fresh_q, fresh_d),
        f'random pick (seed {args.seed})': random_pick_rotation_error(
            query['R'], database['R'], seed=args.seed,
            query_groups=query['obj'], db_groups=database['obj']),
    }
    print(format_report(errors, len(query['obj']), len(database['obj'])))

    emb = torch.cat([database['emb'], query['emb']]).numpy()
    points = pca_2d(emb) if args.method == 'pca' else tsne_2d(
        emb, seed=args.seed)
    draw_map(points, torch.cat([database['R'], query['R']]).numpy(),
             torch.cat([database['t'], query['t']]).numpy(), args.out,
             f'{args.method.upper()} of {args.feature} features '
             f'({len(emb)} frames)')
    print(f'map written to {args.out}')
    return errors


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    enable_checkpoint_safety()
    run_tool(lambda: analyse(args), debug=args.debug)


if __name__ == '__main__':
    main()
