"""Draw ground-truth (green) and predicted (red) poses on test images.

    python tools/visualize_pose.py CONFIG CHECKPOINT [--images IMG ...]
        [--out-dir DIR] [--num N] [--device cpu|cuda]
        [--cfg-options key=value ...]

Runs the model of CONFIG with CHECKPOINT's weights on the frames of the
config's ``test_dataloader`` (all of them, or those whose image path or file
name is in ``--images``; at most ``--num``) and writes one PNG per object
instance, ``<out-dir>/<scene>_<im>_obj<id>.png``: the original image with
each pose's projected 3D bounding box and model outline. The checkpoint
must fit the config's model (names, shapes, finite values).
"""
import argparse
import os.path as osp
from typing import List, Optional

import torch

import posessl  # noqa: F401  (registers every component)
from posessl.apis import (
    build_dataset,
    build_inference_model,
    build_loader,
    select_indices,
)
from posessl.engine import enable_checkpoint_safety
from posessl.engine.cli import (
    UserError,
    add_model_tool_arguments,
    check_checkpoint,
    load_config,
    run_tool,
)
from posessl.engine.hooks import sample_name
from posessl.visualization import PoseVisualizer, load_rgb


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw GT (green) and predicted (red) poses')
    parser.add_argument('config', help='config with model and '
                        'test_dataloader')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--images', nargs='+', help='only these images '
                        '(paths or file names of the test set)')
    parser.add_argument('--out-dir', default='pose_vis',
                        help='where the PNGs go (default: pose_vis)')
    parser.add_argument('--num', type=int, default=None,
                        help='at most this many object instances')
    add_model_tool_arguments(parser)
    return parser.parse_args(argv)


def visualize(args: argparse.Namespace) -> List[str]:
    """Write the pictures; returns their paths."""
    cfg = load_config(args.config, args.cfg_options)
    if cfg.get('test_dataloader') is None or cfg.get('model') is None:
        raise UserError(f'config {args.config!r} needs model and '
                        'test_dataloader')
    if args.num is not None and args.num < 1:
        raise UserError('--num must be at least 1')
    check_checkpoint(args.checkpoint, 'checkpoint')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_inference_model(cfg, args.checkpoint, device=device)
    dataset = build_dataset(cfg.test_dataloader.dataset)
    try:
        indices = select_indices(dataset, args.images, args.num)
    except ValueError as err:
        raise UserError(str(err)) from None
    loader = build_loader(cfg.test_dataloader, dataset, indices)
    vis = PoseVisualizer.get_instance('posessl_visualize_pose')
    vis.dataset_meta = dataset.metainfo
    written: List[str] = []
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                name = sample_name(sample)
                out_file = osp.join(args.out_dir, f'{name}.png')
                image = load_rgb(sample.img_path)
                vis.add_datasample(name, image, sample, out_file=out_file)
                written.append(out_file)
    return written


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    enable_checkpoint_safety()
    written = run_tool(lambda: visualize(args), debug=args.debug)
    print(f'wrote {len(written)} pictures to {args.out_dir}')


if __name__ == '__main__':
    main()
