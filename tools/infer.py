"""Estimate the pose of one object in one image of one's own.

    python tools/infer.py CONFIG CHECKPOINT IMAGE --obj-id ID
        (--mask MASK | --box X Y W H | --detections FILE --scene-id S
         --im-id I)
        (--cam-k FX 0 CX 0 FY CY 0 0 1 | --camera CAMERA_JSON [--im-id I])
        [--out overlay.png] [--device cpu|cuda] [--cfg-options k=v ...]
        [--debug]

Runs :class:`posessl.apis.PoseInferencer` (the config's test pipeline and
``test_step``, so the pose is the one ``tools/test.py`` gives the frame) and
prints the rotation R (row-major) and translation t (mm). ``--camera``
reads a BOP ``camera.json`` (fx, fy, cx, cy) or a ``scene_camera.json``
(the entry of ``--im-id``). ``--out`` saves the image with the predicted
pose drawn in red. The checkpoint must fit the config's model (names,
shapes, finite values).
"""
import argparse
from typing import List, Optional

import numpy as np

from posessl.apis import PoseInferencer, PosePrediction
from posessl.engine.cli import (
    add_model_tool_arguments,
    check_checkpoint,
    load_config,
    run_tool,
)
from posessl.errors import InferenceError
from posessl.structures.io import read_json
from posessl.visualization import save_png


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pose of one object in one image')
    parser.add_argument('config', help='config with model and '
                        'test_dataloader')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('image', help='RGB image file')
    parser.add_argument('--obj-id', type=int, required=True,
                        help='the object (an id the model was trained on)')
    region = parser.add_mutually_exclusive_group(required=True)
    region.add_argument('--mask', help='object mask image (non-zero: '
                        'object)')
    region.add_argument('--box', type=float, nargs=4,
                        metavar=('X', 'Y', 'W', 'H'),
                        help='object box, BOP convention')
    region.add_argument('--detections', help='BOP detections JSON (needs '
                        '--scene-id and --im-id)')
    camera = parser.add_mutually_exclusive_group(required=True)
    camera.add_argument('--cam-k', type=float, nargs=9,
                        help='camera matrix, 9 numbers row-major')
    camera.add_argument('--camera', help='BOP camera.json or '
                        'scene_camera.json (with --im-id)')
    parser.add_argument('--scene-id', type=int, help='scene of the image')
    parser.add_argument('--im-id', type=int, help='id of the image')
    parser.add_argument('--out', help='save the overlay PNG here')
    add_model_tool_arguments(parser)
    return parser.parse_args(argv)


def camera_matrix(args: argparse.Namespace) -> np.ndarray:
    """``--cam-k``, or the matrix in the ``--camera`` file.

    Raises:
        InferenceError: the file holds no camera for the image.
    """
    if args.cam_k is not None:
        return np.asarray(args.cam_k, dtype=np.float64).reshape(3, 3)
    data = read_json(args.camera)
    if isinstance(data, dict) and {'fx', 'fy', 'cx', 'cy'} <= set(data):
        return np.array([[data['fx'], 0.0, data['cx']],
                         [0.0, data['fy'], data['cy']],
                         [0.0, 0.0, 1.0]], dtype=np.float64)
    if args.im_id is None:
        raise InferenceError(f'{args.camera}: not a BOP camera.json (fx, '
                             'fy, cx, cy); for a scene_camera.json give '
                             '--im-id')
    entry = data.get(str(args.im_id)) if isinstance(data, dict) else None
    if not isinstance(entry, dict) or 'cam_K' not in entry:
        raise InferenceError(f'{args.camera}: no cam_K for image '
                             f'{args.im_id}')
    return np.asarray(entry['cam_K'], dtype=np.float64).reshape(3, 3)


def report(pred: PosePrediction) -> str:
    """R (three rows), t (mm) and the score, as printed."""
    rows = ['  ' + ' '.join(f'{v:.9g}' for v in row) for row in pred.R]
    score = ('None (the model predicts no confidence)'
             if pred.score is None else f'{pred.score:.6g}')
    return '\n'.join([f'obj_id {pred.obj_id}', 'R:', *rows,
                      't (mm): ' + ' '.join(f'{v:.9g}' for v in pred.t),
                      f'score: {score}'])


def infer(args: argparse.Namespace) -> PosePrediction:
    """Run the inferencer on the command line's image (the config, the
    checkpoint's path and the camera are checked before the model is
    built)."""
    cfg = load_config(args.config, args.cfg_options)
    check_checkpoint(args.checkpoint, 'checkpoint')
    cam_K = camera_matrix(args)
    inferencer = PoseInferencer(cfg, args.checkpoint, device=args.device)
    pred = inferencer(args.image, args.obj_id, cam_K,
                      mask=args.mask, box=args.box,
                      detections=args.detections, scene_id=args.scene_id,
                      im_id=args.im_id, visualize=args.out is not None)
    if args.out is not None:
        save_png(args.out, pred.overlay)
    return pred


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    pred = run_tool(lambda: infer(args), debug=args.debug)
    print(report(pred))
    if args.out is not None:
        print(f'overlay written to {args.out}')


if __name__ == '__main__':
    main()
