"""Pseudo-label the unlabelled training frames with a trained teacher.

    python tools/pseudo_label.py CONFIG CHECKPOINT --out FILE.json
        [--max-rot-deg 20] [--max-trans-mm 100] [--window 2]
        [--agreement majority|all] [--min-mask-iou 0.6 [--models-dir D]]
        [--device cpu|cuda]
        [--cfg-options key=value ...] [--debug]

Runs the model of CONFIG with CHECKPOINT's weights on every frame of the
config's training split (``train_dataloader.dataset`` with
``labelled_only=False``, no pseudo-labels, in test mode and with the
*test* pipeline, so without augmentation), keeps a prediction of an
unlabelled frame only where it agrees with the predictions of its
neighbours along the video (:mod:`posessl.datasets.pseudo_labels`) and,
with ``--min-mask-iou``, where the object model drawn at the predicted pose
covers the frame's mask (a render-and-compare check of the whole pose), and
writes the labelled frames (their own poses, ``"source": "label"``) and the
kept predictions (``"source": "pseudo"``) to ``--out``; a training config
reads it with ``train_dataloader.dataset.pseudo_labels=FILE.json``.

One line per object says how many frames were kept and how good the
teacher's predictions are against the data set's own poses: on the labelled
frames, and on the kept and the rejected unlabelled frames (the data set
loads every frame's pose and hides the unlabelled ones from training): the
share within 0.1 d ADD (ADD-S for a symmetric object) and the median
rotation error. Agreeing along the video is not being right: a teacher that
predicts nearly the same pose for every frame passes the filter, so read
the teacher's score on its labelled frames first.
"""
import argparse
import os.path as osp
from collections import defaultdict
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from mmengine.registry import DefaultScope

import posessl  # noqa: F401  (registers every component)
from posessl.apis import (
    build_dataset,
    build_inference_model,
    build_loader,
    unwrap_dataset_cfg,
)
from posessl.datasets.pseudo_labels import (
    AGREEMENTS,
    consistent_frames,
    write_pseudo_labels,
)
from posessl.datasets.transforms.loading import read_mask
from posessl.engine import enable_checkpoint_safety
from posessl.engine.cli import (
    UserError,
    add_model_tool_arguments,
    check_checkpoint,
    check_data_roots,
    check_registered_types,
    check_required_keys,
    load_config,
    run_tool,
)
from posessl.evaluation.scoring import ScoreSettings, score_object
from posessl.models.refiners import SilhouetteDepthRefiner
from posessl.structures import ObjectTable, build_object_table

#: The ADD(-S) threshold of the summary, a fraction of the diameter.
ADD_THRESHOLD = 0.1


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pseudo-label the unlabelled training frames')
    parser.add_argument('config', help='the teacher\'s (training) config')
    parser.add_argument('checkpoint', help='the teacher\'s checkpoint')
    parser.add_argument('--out', required=True,
                        help='the pseudo-label file to write (.json)')
    parser.add_argument('--max-rot-deg', type=float, default=20.0,
                        help='largest rotation difference (degrees) of two '
                        'poses that agree (default: 20; it must exceed the '
                        'true motion across the window)')
    parser.add_argument('--max-trans-mm', type=float, default=100.0,
                        help='largest translation difference (mm) of two '
                        'poses that agree (default: 100)')
    parser.add_argument('--window', type=int, default=2,
                        help='neighbours up to this many positions away on '
                        'each side in the sequence (default: 2; 0: no check '
                        'along the video, for frames too far apart to be '
                        'neighbouring views)')
    parser.add_argument('--agreement', choices=AGREEMENTS,
                        default='majority',
                        help='keep a frame when a strict majority (default) '
                        'or all of its neighbours agree with it')
    parser.add_argument('--min-mask-iou', type=float, default=0.0,
                        help='also require the object model drawn at the '
                        'predicted pose to cover the frame\'s mask with '
                        'at least this intersection over union (default: '
                        '0, off; the mask should be the whole silhouette)')
    parser.add_argument('--models-dir', default=None,
                        help='BOP models folder for --min-mask-iou '
                        '(default: <data_root>/models)')
    add_model_tool_arguments(parser)
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    if not args.out.endswith('.json'):
        raise UserError(f'--out {args.out!r}: give a .json file name')
    if args.window < 0:
        raise UserError(f'--window must be at least 0, got {args.window}')
    if not 0.0 <= args.min_mask_iou <= 1.0:
        raise UserError('--min-mask-iou must be in [0, 1], got '
                        f'{args.min_mask_iou}')
    for name in ('max_rot_deg', 'max_trans_mm'):
        value = getattr(args, name)
        if not value >= 0:
            raise UserError(f"--{name.replace('_', '-')} must be "
                            f'non-negative, got {value}')


def teacher_dataset_cfg(cfg) -> dict:
    """Every training frame, unaugmented: the training dataset in test mode
    with the test pipeline, all frames, and no pseudo-labels of its own (its
    ``gt_R`` / ``gt_t`` must be the data set's, for the summary)."""
    dataset_cfg = unwrap_dataset_cfg(cfg.train_dataloader.dataset)
    pipeline = unwrap_dataset_cfg(cfg.test_dataloader.dataset).get(
        'pipeline')
    if not pipeline:
        raise UserError(f'config {cfg.filename!r}: test_dataloader.dataset '
                        'has no pipeline to run the teacher with')
    dataset_cfg.update(labelled_only=False, test_mode=True,
                       pseudo_labels=None, pipeline=pipeline)
    return dataset_cfg


def predict_all(model: torch.nn.Module, loader: Any,
                config: str) -> Dict[tuple, tuple]:
    """``{(obj_id, scene_id, im_id): (R, t)}`` of every frame, float64."""
    out: Dict[tuple, tuple] = {}
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                if 'pred_R' not in sample or 'pred_t' not in sample:
                    raise UserError(f'config {config!r}: the model predicts '
                                    'no pose (pred_R / pred_t); give a pose '
                                    'config')
                key = (int(sample.obj_id), int(sample.scene_id),
                       int(sample.im_id))
                out[key] = (
                    sample.pred_R.detach().cpu().double().numpy(),
                    sample.pred_t.detach().cpu().double().numpy())
    return out


def accuracy(frames: List[dict], objects: ObjectTable,
             obj_id: int) -> Optional[dict]:
    """Share within 0.1 d ADD(-S) (%) and median rotation error (deg) of the
    frames' predictions against their data set poses; None without any."""
    if not frames:
        return None
    results = [dict(pred_R=f['pred_R'], pred_t=f['pred_t'],
                    gt_R=f['info']['gt_R'], gt_t=f['info']['gt_t'],
                    cam_K=f['info']['cam_K']) for f in frames]
    scores = score_object(results, objects.object_points(obj_id),
                          objects.diameter(obj_id),
                          objects.is_symmetric(obj_id),
                          ScoreSettings(thresholds=(ADD_THRESHOLD, )),
                          torch.device('cpu'))
    median = float(np.median(scores.rot.numpy()))  # failures count as inf
    return dict(n=len(frames), add_acc=round(scores.acc[0], 4),
                median_rot_deg=round(median, 4) if np.isfinite(median)
                else None)


def describe(acc: Optional[dict], symmetric: bool) -> str:
    if acc is None:
        return 'none'
    median = acc['median_rot_deg']
    median = 'inf' if median is None else f'{median:.2f}'
    metric = 'ADD-S' if symmetric else 'ADD'
    return (f'{acc["add_acc"]:.1f} % within {ADD_THRESHOLD:g} d {metric}, '
            f'median rotation error {median} deg')


def teacher_frames(cfg, args: argparse.Namespace) -> tuple:
    """The teacher's dataset and, per frame in its order, a dict with the
    ``key``, the data ``info`` and the prediction ``pred_R``, ``pred_t``."""
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'posessl')):
        dataset = build_dataset(teacher_dataset_cfg(cfg))
    if len(dataset) == 0:
        raise UserError(f'config {args.config!r}: the training split has no '
                        'frames')
    model = build_inference_model(cfg, args.checkpoint, device=device)
    predictions = predict_all(model, build_loader(cfg.test_dataloader,
                                                  dataset), args.config)
    frames = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        key = (int(info['obj_id']), int(info['scene_id']),
               int(info['im_id']))
        R, t = predictions[key]
        frames.append(dict(key=key, info=info, pred_R=R, pred_t=t))
    return dataset, frames


def mask_agreement(frames: List[dict], models_dir: str,
                   min_iou: float) -> np.ndarray:
    """Per frame, whether the model drawn at the predicted pose covers the
    frame's mask with an intersection over union of at least ``min_iou``
    (labelled frames pass: their poses are not predictions)."""
    refiner = SilhouetteDepthRefiner(models_dir)
    ok = np.ones(len(frames), dtype=bool)
    for i, frame in enumerate(frames):
        info = frame['info']
        if info['has_pose']:
            continue
        if info.get('mask_path') is None:
            raise UserError(f"{info['img_path']}: --min-mask-iou needs the "
                            'frames\' masks (the data set gives none)')
        iou = refiner.mask_iou(info['obj_id'], frame['pred_R'],
                               frame['pred_t'], info['cam_K'],
                               read_mask(info['mask_path']))
        ok[i] = iou >= min_iou
    return ok


def label_entries(frames: List[dict], kept: np.ndarray) -> tuple:
    """The file's entries (labelled frames with their own poses, kept
    predictions of the others) and ``{obj_id: {'label' | 'pseudo' |
    'rejected': [frame, ...]}}``."""
    entries, groups = [], defaultdict(lambda: defaultdict(list))
    for frame, keep in zip(frames, kept):
        info = frame['info']
        obj_id, scene_id, im_id = frame['key']
        if info['has_pose']:
            group, R, t = 'label', info['gt_R'], info['gt_t']
        elif keep:
            group, R, t = 'pseudo', frame['pred_R'], frame['pred_t']
        else:
            groups[obj_id]['rejected'].append(frame)
            continue
        groups[obj_id][group].append(frame)
        entries.append(dict(obj_id=obj_id, scene_id=scene_id, im_id=im_id,
                            R=R, t=t, source=group))
    return entries, groups


def summarise(groups: Dict[int, dict], objects: ObjectTable) -> tuple:
    """Per-object counts and accuracies (for the header) and the printed
    lines."""
    per_object, lines = {}, []
    for obj_id in sorted(groups):
        n = {k: len(groups[obj_id][k]) for k in ('label', 'pseudo',
                                                 'rejected')}
        acc = {k: accuracy(groups[obj_id][k], objects, obj_id)
               for k in n}
        unlabelled = n['pseudo'] + n['rejected']
        per_object[str(obj_id)] = dict(
            frames=n['label'] + unlabelled, **n,
            **{f'{k}_accuracy': v for k, v in acc.items()})
        share = 100.0 * n['pseudo'] / unlabelled if unlabelled else 0.0
        symmetric = objects.is_symmetric(obj_id)
        lines.append(
            f'obj {obj_id} ({objects.name(obj_id)}): '
            f"{n['label'] + unlabelled} frames, {n['label']} labelled, "
            f"{n['pseudo']} of {unlabelled} unlabelled kept ({share:.1f} "
            f"%); teacher on the labelled: {describe(acc['label'], symmetric)}"
            f"; kept: {describe(acc['pseudo'], symmetric)}; rejected: "
            f"{describe(acc['rejected'], symmetric)}")
    return per_object, lines


def pseudo_label(args: argparse.Namespace) -> dict:
    """Run the teacher, filter, write the file; returns the header."""
    check_args(args)
    enable_checkpoint_safety()
    cfg = load_config(args.config, args.cfg_options)
    check_required_keys(cfg, ('model', 'train_dataloader',
                              'test_dataloader'), 'pseudo-labelling')
    check_checkpoint(args.checkpoint, 'checkpoint')
    check_registered_types(cfg)
    check_data_roots(cfg, ('train_dataloader', ))
    dataset, frames = teacher_frames(cfg, args)
    rule = dict(window=args.window, max_rot_deg=args.max_rot_deg,
                max_trans_mm=args.max_trans_mm, agreement=args.agreement)
    keys = np.array([f['key'] for f in frames], dtype=np.int64)
    kept = np.ones(len(frames), dtype=bool) if args.window == 0 else \
        consistent_frames(
            keys[:, 0], keys[:, 1], keys[:, 2],
            np.stack([f['pred_R'] for f in frames]),
            np.stack([f['pred_t'] for f in frames]), **rule)
    if args.min_mask_iou > 0:
        rule['min_mask_iou'] = args.min_mask_iou
        kept &= mask_agreement(frames, args.models_dir or osp.join(
            dataset.data_root, 'models'), args.min_mask_iou)
    entries, groups = label_entries(frames, kept)
    per_object, lines = summarise(
        groups, build_object_table(dataset.metainfo, 'the teacher\'s dataset'))
    totals = {k: sum(o[k] for o in per_object.values())
              for k in ('frames', 'label', 'pseudo', 'rejected')}
    header = dict(
        teacher_config=osp.abspath(args.config),
        teacher_checkpoint=osp.abspath(args.checkpoint),
        data_root=dataset.data_root, split=dataset.split,
        label_fraction=dataset.label_fraction, filter=rule,
        counts=dict(totals, per_object=per_object))
    write_pseudo_labels(args.out, header, entries)
    for line in lines:
        print(line)
    print(f"wrote {args.out}: {totals['label']} labels and "
          f"{totals['pseudo']} pseudo-labels of {totals['frames']} training "
          f"frames ({totals['rejected']} rejected)")
    return header


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    run_tool(lambda: pseudo_label(args), debug=args.debug)


if __name__ == '__main__':
    main()
