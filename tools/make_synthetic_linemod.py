"""Generate a synthetic LINEMOD-format data set (BOP layout).

Examples::

    # test-sized: seconds
    python tools/make_synthetic_linemod.py data/synth_tiny \\
        --train-frames 30 --test-frames 10
    # LINEMOD-sized: ~1,200 frames per object
    python tools/make_synthetic_linemod.py data/synth_lm --num-objects 13 \\
        --train-frames 1000 --test-frames 200 --depth --densefusion
    # real LINEMOD models (ape, duck) over real LINEMOD-Occluded photographs
    python tools/make_synthetic_linemod.py data/realmesh_lmo \\
        --models-dir ../shared/data/lmo_sample/models \\
        --backgrounds-dir ../shared/data/lmo_sample/test/000002/rgb
"""
import argparse
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Render a synthetic LINEMOD (BOP layout; optionally '
        "DenseFusion's Linemod_preprocessed layout too).")
    parser.add_argument('out_dir', help='output folder (must be empty '
                        'unless --overwrite)')
    parser.add_argument('--num-objects', type=int, default=None,
                        help='procedural objects, one scene each (default '
                        '3: two asymmetric, one symmetric)')
    parser.add_argument('--models-dir', default=None,
                        help='render the real models of this BOP models '
                        'folder (models_info.json + vertex-coloured '
                        'obj_XXXXXX.ply in mm) instead of procedural ones')
    parser.add_argument('--obj-ids', type=int, nargs='+', default=None,
                        help='which objects of --models-dir (default: all)')
    parser.add_argument('--backgrounds-dir', default=None,
                        help='a folder of real photographs (png/jpg) used '
                        'as the backgrounds instead of procedural clutter')
    parser.add_argument('--train-frames', type=int, default=300,
                        help='frames per object in train/ (default 300)')
    parser.add_argument('--test-frames', type=int, default=100,
                        help='frames per object in test/ (default 100)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed; same seed, same bytes')
    parser.add_argument('--depth', action='store_true',
                        help='also write uint16 depth PNGs (mm)')
    parser.add_argument('--densefusion', action='store_true',
                        help='also write the DenseFusion layout under '
                        'OUT_DIR/densefusion')
    parser.add_argument('--test-recording', choices=('same', 'new'),
                        default='same',
                        help="'same' (default, LINEMOD's protocol): the test "
                        'frames lie between the training frames of one '
                        "recording; 'new': the test split is an independent "
                        'recording (other path, light and sensor)')
    parser.add_argument('--lighting', choices=('recording', 'random'),
                        default='recording',
                        help="'recording' (default, as in LINEMOD): one room "
                        "light per recording; 'random': a new light, "
                        'material, exposure and noise every frame, for '
                        'renders that have to transfer to photographs')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the generated files of a non-empty '
                        'OUT_DIR')
    parser.add_argument('--size', type=int, nargs=2, default=(640, 480),
                        metavar=('W', 'H'),
                        help='image size (default 640 480; the LINEMOD '
                        'camera is scaled to it)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from posessl.synthetic import generate_synthetic_linemod

    try:
        root = generate_synthetic_linemod(
            args.out_dir, num_objects=args.num_objects,
            train_frames=args.train_frames, test_frames=args.test_frames,
            width=args.size[0], height=args.size[1], seed=args.seed,
            depth=args.depth, densefusion=args.densefusion,
            overwrite=args.overwrite, test_recording=args.test_recording,
            models_dir=args.models_dir, obj_ids=args.obj_ids,
            backgrounds_dir=args.backgrounds_dir, lighting=args.lighting,
            progress=True)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(f'wrote {root}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
