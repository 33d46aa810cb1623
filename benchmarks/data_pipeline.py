"""Throughput of the LINEMOD data pipeline on a generated synthetic set.

Prints, measured in one run on the same frames:

* the synthetic generator's cost (ms per frame, via its API);
* crops per second through MMEngine's dataloader (built with
  ``Runner.build_dataloader`` from a config dict: LinemodBOPDataset ->
  LoadImageAndMask (image and mask) -> MaskCenteredCrop (zoom) ->
  PackPoseInputs; ``--aug`` adds jitter and PhotometricAug) with 0, 1 and
  2 workers;
* a naive baseline, single process: PIL load of the full image and a
  torchvision ``resized_crop`` of the same square window, and each
  dataloader figure as a ratio to it;
* crops per second per core (one process, the dataset indexed directly) of
  the training pipeline (LoadImageAndMask -> jittered MaskCenteredCrop ->
  MaskBackground -> PackPoseInputs) from the PNG files and from
  ``FrameCacheDataset``'s memory-mapped crops (a project:
  projects/frame_cache), with their ratio and the cache's build time
  (``--cache-only`` prints only these).

Each figure is the best epoch of ``--epochs`` (after a warm-up epoch), since
the machine may be shared.

Example::

    python benchmarks/data_pipeline.py                # about a minute here
    python benchmarks/data_pipeline.py --frames 300 --objects 3 --epochs 3
    python benchmarks/data_pipeline.py --cache-only --frames 100
"""
import argparse
import os
import sys
import tempfile
import time
from typing import List, Tuple


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--objects', type=int, default=2,
                        help='objects (one sequence each)')
    parser.add_argument('--frames', type=int, default=60,
                        help='training frames per object')
    parser.add_argument('--out-size', type=int, default=64,
                        help='crop size (px)')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--workers', type=str, default='0,1,2',
                        help='comma-separated worker counts')
    parser.add_argument('--epochs', type=int, default=3,
                        help='timed epochs per setting (after one warm-up); '
                        'the best epoch is reported, as the machine may '
                        'be shared')
    parser.add_argument('--aug', action='store_true',
                        help='add PhotometricAug and crop jitter (the '
                        'baseline has neither)')
    parser.add_argument('--cache-only', action='store_true',
                        help='measure only PNG against the frame cache')
    parser.add_argument('--root', type=str, default=None,
                        help='reuse an existing synthetic set (skips the '
                        'generator timing)')
    return parser.parse_args()


def generate(root: str, objects: int, frames: int) -> float:
    """Generate the set; return the generator's ms per frame."""
    from posessl.synthetic import generate_synthetic_linemod
    test_frames = 2
    start = time.perf_counter()
    generate_synthetic_linemod(root, num_objects=objects,
                               train_frames=frames, test_frames=test_frames,
                               seed=0, progress=False)
    elapsed = time.perf_counter() - start
    return 1000 * elapsed / (objects * (frames + test_frames))


def dataloader_rate(root: str, workers: int, args: argparse.Namespace,
                    with_mask: bool = True, cache_size: int = 0) -> float:
    """Crops per second through Runner.build_dataloader.

    ``with_mask=False`` reads no mask and crops around the annotated box,
    the same work as the baseline. ``cache_size`` turns on the loader's
    decoded-frame cache (the warm-up epoch fills it).
    """
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    init_default_scope('posessl')
    jitter = dict(center_jitter=0.1, scale_jitter=0.25) if args.aug else {}
    pipeline = [
        dict(type='LoadImageAndMask', with_mask=with_mask,
             cache_size=cache_size),
        dict(type='MaskCenteredCrop', out_size=args.out_size, mode='zoom',
             scale=1.5, box_source='mask' if with_mask else 'bbox',
             **jitter),
        dict(type='PackPoseInputs'),
    ]
    if args.aug:
        pipeline.insert(2, dict(type='PhotometricAug'))
    cfg = dict(
        batch_size=args.batch_size,
        num_workers=workers,
        persistent_workers=workers > 0,
        sampler=dict(type='DefaultSampler', shuffle=True),
        dataset=dict(
            type='LinemodBOPDataset',
            data_root=root,
            split='train',
            pipeline=pipeline))
    loader = Runner.build_dataloader(cfg, seed=0)
    for _ in loader:  # warm-up: worker start, page cache
        pass
    rates = []
    for epoch in range(args.epochs):
        loader.sampler.set_epoch(epoch + 1)
        count = 0
        start = time.perf_counter()
        for batch in loader:
            count += len(batch['inputs'])
        rates.append(count / (time.perf_counter() - start))
    return max(rates)


def baseline_rate(root: str, args: argparse.Namespace) -> float:
    """Crops per second: PIL load + torchvision resized_crop, 1 process."""
    import torchvision.transforms.functional as F
    from PIL import Image

    from posessl.datasets import LinemodBOPDataset
    ds = LinemodBOPDataset(data_root=root, split='train')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    rates = []
    for _ in range(args.epochs + 1):  # the first epoch warms the cache
        start = time.perf_counter()
        for info in infos:
            img = Image.open(info['img_path']).convert('RGB')
            x, y, w, h = info['bbox']
            size = 1.5 * max(w, h)
            top = int(round(y + h / 2 - size / 2))
            left = int(round(x + w / 2 - size / 2))
            crop = F.pil_to_tensor(
                F.resized_crop(img, top, left, int(size), int(size),
                               [args.out_size, args.out_size],
                               antialias=True))
            assert crop.shape[-1] == args.out_size
        rates.append(len(infos) / (time.perf_counter() - start))
    return max(rates[1:])


def cache_rates(root: str, args: argparse.Namespace,
                cache_dir: str) -> Tuple[float, float, float]:
    """Crops/s in one process from PNG and from the frame cache (same
    training pipeline, same frames), and the cache's build time (s)."""
    from mmengine.registry import init_default_scope

    from posessl.registry import DATASETS
    from projects.frame_cache.frame_cache import FrameCacheDataset
    init_default_scope('posessl')
    pipeline = [
        dict(type='LoadImageAndMask'),
        dict(type='MaskCenteredCrop', out_size=args.out_size, mode='zoom',
             scale=1.4, center_jitter=0.05, scale_jitter=0.1),
        dict(type='MaskBackground'),
        dict(type='PackPoseInputs'),
    ]
    dataset = dict(type='LinemodBOPDataset', data_root=root, split='train',
                   pipeline=pipeline)
    png = DATASETS.build(dataset)
    start = time.perf_counter()
    cached = FrameCacheDataset(dataset=dataset, cache_dir=cache_dir)
    build = time.perf_counter() - start

    def rate(ds) -> float:
        best = 0.0
        for epoch in range(args.epochs + 1):  # the first warms the caches
            start = time.perf_counter()
            for i in range(len(ds)):
                assert ds[i]['inputs'].shape[-1] == args.out_size
            if epoch:
                best = max(best, len(ds) / (time.perf_counter() - start))
        return best

    return rate(png), rate(cached), build


def main() -> None:
    args = parse_args()
    # the checkout: posessl, and the frame cache project (projects/)
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    from mmengine.utils.dl_utils import set_multi_processing

    import posessl  # noqa: F401  (registers the components)

    # what a Runner does before building its dataloaders (fork, OpenCV
    # single-threaded so that workers do not oversubscribe the cores)
    set_multi_processing(opencv_num_threads=0)
    workers: List[int] = [int(w) for w in args.workers.split(',') if w]
    tmp = None
    if args.root is None:
        tmp = tempfile.TemporaryDirectory(prefix='posessl_bench_')
        root = os.path.join(tmp.name, 'synthetic')
        ms = generate(root, args.objects, args.frames)
        print(f'generator: {ms:.1f} ms/frame (640x480, '
              f'{args.objects} objects x {args.frames + 2} frames)')
    else:
        root = args.root
    try:
        with tempfile.TemporaryDirectory(prefix='posessl_cache_') as cache:
            png, from_cache, build = cache_rates(root, args, cache)
        print(f'per core (1 process, jittered zoom crop + MaskBackground + '
              f'pack): from PNG {png:.1f} crops/s, from the frame cache '
              f'{from_cache:.1f} crops/s = {from_cache / png:.2f} x PNG '
              f'(cache built in {build:.1f} s)')
        if args.cache_only:
            return
        base = baseline_rate(root, args)
        print(f'baseline (PIL load + torchvision resized_crop of the box, '
              f'1 process): {base:.1f} crops/s')
        rate = dataloader_rate(root, 0, args, with_mask=False)
        print(f'posessl dataloader, image only (box from bbox), 0 workers: '
              f'{rate:.1f} crops/s = {rate / base:.2f} x baseline')
        for w in workers:
            rate = dataloader_rate(root, w, args)
            print(f'posessl dataloader, image + mask, {w} workers: '
                  f'{rate:.1f} crops/s = {rate / base:.2f} x baseline')
        rate = dataloader_rate(root, 0, args, cache_size=100000)
        print(f'posessl dataloader, image + mask, 0 workers, decoded frames '
              f'cached (as the CPU configs): {rate:.1f} crops/s = '
              f'{rate / base:.2f} x baseline')
        print(f'cpu cores: {os.cpu_count()}, crop {args.out_size} px, '
              f'batch {args.batch_size}, best of {args.epochs} epochs')
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == '__main__':
    main()
