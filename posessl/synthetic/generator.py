"""Writes a synthetic LINEMOD in the BOP layout (and DenseFusion's), one
object per scene (scene id = object id); see
:func:`generate_synthetic_linemod` for the files."""
import logging
import os
import shutil
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from tqdm import tqdm

from ..geometry import mask_box, project_points, random_rotation
from ..rendering import Renderer
from ..version import __version__
from .background import clutter_cubemap
from .bop_objects import load_bop_objects
from .objects import SyntheticObject, make_objects
from .photos import PhotoBackdrop, composite
from .trajectory import (
    DISTANCE_RANGE,
    LINEMOD_DISTANCE_RANGE,
    MAX_TRAIN_STEP,
    RECORDING_FRAMES,
    CameraPath,
    Lighting,
    camera_path,
    held_out_frames,
    lighting,
    randomised_lighting,
    recording_frames,
    recording_lighting,
    recording_path,
)
from .writers import (
    DEPTH_SCALE,
    SPLITS,
    DenseFusionScene,
    FileWriter,
    depth_uint16,
    write_bop_frame,
    write_densefusion_models,
    write_json,
    write_json_rows,
    write_models,
)

#: LINEMOD's camera (all frames) at 640 x 480.
LINEMOD_K = np.array([[572.4114, 0.0, 325.2611],
                      [0.0, 573.57043, 242.04899],
                      [0.0, 0.0, 1.0]])
LINEMOD_SIZE = (640, 480)
TEST_RECORDINGS = ('same', 'new')
LIGHTINGS = ('recording', 'random')
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0
logger = logging.getLogger(__name__)
#: what the generator writes inside its root
_OUTPUTS = ('dataset_info.json', 'camera.json', 'models', 'train', 'test',
            'densefusion', 'test_targets_bop19.json')
#: what it writes inside each scene folder of train/ and test/
_SCENE_OUTPUTS = ('rgb', 'mask', 'mask_visib', 'depth', 'scene_camera.json',
                  'scene_gt.json', 'scene_gt_info.json')


def camera_matrix(width: int, height: int) -> np.ndarray:
    """LINEMOD's camera matrix scaled to a ``width x height`` image.

    Pixel centres stay aligned: ``c' = (c + 0.5) s - 0.5``.
    """
    sx, sy = width / LINEMOD_SIZE[0], height / LINEMOD_SIZE[1]
    K = LINEMOD_K.copy()
    K[0, 0] *= sx
    K[1, 1] *= sy
    K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return K


def generate_synthetic_linemod(out_dir: Union[str, os.PathLike], *,
                               num_objects: Optional[int] = None,
                               train_frames: int = 300,
                               test_frames: int = 100, width: int = 640,
                               height: int = 480, seed: int = 0,
                               depth: bool = False, densefusion: bool = False,
                               overwrite: bool = False,
                               test_recording: str = 'same',
                               models_dir: Optional[str] = None,
                               obj_ids: Optional[Sequence[int]] = None,
                               backgrounds_dir: Optional[str] = None,
                               lighting: str = 'recording',
                               progress: bool = True) -> str:
    """Generate a synthetic LINEMOD-format data set.

    Files (BOP ``lm`` layout)::

        dataset_info.json  camera.json  test_targets_bop19.json
        models/models_info.json  models/obj_<id:06d>.ply
        {train,test}/<id:06d>/rgb/<im:06d>.png  mask/<im:06d>_000000.png
            mask_visib/<im:06d>_000000.png  [depth/<im:06d>.png (uint16 mm)]
            scene_gt.json  scene_camera.json  scene_gt_info.json
        [densefusion/data/<NN>/{rgb,mask,[depth]}/<NNNN>.png, gt.yml,
         info.yml, train.txt, test.txt; densefusion/models/obj_<NN>.ply,
         models_info.yml, dataset_info.json]

    Boxes are BOP's ``[x, y, w, h]``; ``bbox_obj`` and ``px_count_all``
    come from the full silhouette, also outside the image.

    Args:
        out_dir: root folder; created if missing, must be empty unless
            ``overwrite`` (which replaces only the generator's own files).
        num_objects: procedural objects (one scene each; default 3: two
            asymmetric and one symmetric).
        train_frames, test_frames: frames per object of each split.
        width, height: image size; the camera is LINEMOD's, scaled.
        seed: everything is a function of the seed (byte-identical output).
        depth: also write uint16 depth PNGs (camera z in mm).
        densefusion: also write DenseFusion's "Linemod_preprocessed" layout
            under ``<root>/densefusion``.
        overwrite: allow a non-empty ``out_dir``.
        test_recording: ``'same'`` (LINEMOD's protocol): both splits are
            disjoint frames of one 1,200-frame recording per object, the
            training split a video, the test frames in between. ``'new'``:
            the test split is an independent recording (path, light, white
            balance, sensor noise).
        models_dir: render these real models instead of procedural ones: a
            BOP models folder (``models_info.json``, vertex-coloured
            ``obj_<id:06d>.ply`` in mm), copied unchanged into the set; the
            camera keeps LINEMOD's distances (0.6-1.3 m) for them.
        obj_ids: which objects of ``models_dir`` (default: all).
        backgrounds_dir: a folder of real photographs that replace the
            procedural surroundings (see :class:`PhotoBackdrop`).
        lighting: ``'recording'``: one room light per recording, as in
            LINEMOD; ``'random'``: a new light, material, exposure and noise
            every frame (:func:`~.trajectory.randomised_lighting`).
        progress: show a tqdm progress bar.

    Returns:
        The absolute path of the root folder.

    Raises:
        ValueError: an argument out of range or a wrong combination.
        FileExistsError / NotADirectoryError: ``out_dir`` is not empty
            (without ``overwrite``) or is a file.
        FileNotFoundError / DataError: bad models or photographs (before
            anything is written).
        RuntimeError: no headless OpenGL (before anything is written).
    """
    if models_dir is not None and num_objects is not None:
        raise ValueError('num_objects counts procedural objects; with '
                         'models_dir choose the real models with obj_ids')
    if models_dir is None and obj_ids is not None:
        raise ValueError('obj_ids selects models of models_dir; give '
                         'models_dir too (or num_objects for procedural '
                         'objects)')
    num_objects = 3 if num_objects is None else num_objects
    _check_args(num_objects, train_frames, test_frames, width, height, seed,
                densefusion, test_recording, lighting)
    if models_dir is None:
        objects = make_objects(num_objects, seed)
        distance_range = DISTANCE_RANGE
    else:
        objects = load_bop_objects(models_dir, obj_ids)
        distance_range = LINEMOD_DISTANCE_RANGE
    backdrop = None if backgrounds_dir is None else PhotoBackdrop(
        backgrounds_dir, width, height)
    K = camera_matrix(width, height)
    renderer = Renderer(width, height, K, with_depth=depth)
    try:
        root = _prepare_root(Path(out_dir), overwrite)
        write_models(root, objects)
        write_json(root / 'camera.json', {
            'cx': K[0, 2], 'cy': K[1, 2], 'depth_scale': DEPTH_SCALE,
            'fx': K[0, 0], 'fy': K[1, 1], 'height': height, 'width': width})
        if densefusion:
            write_densefusion_models(root / 'densefusion' / 'models',
                                     objects)
        _render_all(renderer, root, objects, K, seed, train_frames,
                    test_frames, depth, densefusion, test_recording,
                    distance_range, backdrop, progress, lighting)
    finally:
        renderer.release()
    # what the BOP toolkit's scripts score: every test frame's one object
    write_json_rows(root / 'test_targets_bop19.json', [
        {'im_id': i, 'inst_count': 1, 'obj_id': o.obj_id,
         'scene_id': o.obj_id} for o in objects for i in range(test_frames)])
    dataset_info = {
        'name': 'synthetic_linemod' if models_dir is None
        else 'synthetic_linemod_realmesh',
        'objects': {str(o.obj_id): o.name for o in objects},
        'kinds': {str(o.obj_id): o.kind for o in objects},
        'symmetric_obj_ids': [o.obj_id for o in objects if o.symmetric],
        'seed': seed, 'generator': f'posessl {__version__}',
        'splits': {'train': train_frames, 'test': test_frames},
        'test_recording': test_recording, 'lighting': lighting,
        'width': width, 'height': height, 'depth': depth,
        'densefusion': densefusion, 'units': 'mm',
        'depth_scale': DEPTH_SCALE,
        'models': 'procedural' if models_dir is None else str(models_dir),
        'backgrounds': 'procedural' if backgrounds_dir is None
        else str(backgrounds_dir),
        'distance_range_mm': list(distance_range)}
    write_json(root / 'dataset_info.json', dataset_info, one_per_line=False)
    if densefusion:  # names and symmetries for the DenseFusion loader too
        write_json(root / 'densefusion' / 'dataset_info.json', dataset_info,
                   one_per_line=False)
    return str(root)


# ------------------------------------------------------------ sequences
def _render_all(renderer: Renderer, root: Path,
                objects: List[SyntheticObject], K: np.ndarray, seed: int,
                train_frames: int, test_frames: int, depth: bool,
                densefusion: bool, test_recording: str,
                distance_range: Tuple[float, float],
                backdrop: Optional[PhotoBackdrop], progress: bool,
                lighting: str) -> None:
    """Render and write every object's train and test sequences."""
    # cube faces of ~fx texels: a texel spans ~2 px at the view centre,
    # so the background is a little soft (out of focus)
    face = int(np.clip(2**np.round(np.log2(K[0, 0])), 128, 1024))
    writer = FileWriter()
    bar = tqdm(total=len(objects) * (train_frames + test_frames),
               disable=not progress, unit='frame', desc='synthetic LINEMOD',
               dynamic_ncols=True)
    sizes = {'train': train_frames, 'test': test_frames}
    try:
        for obj in objects:
            renderer.set_mesh(obj.mesh)
            env_rng = np.random.default_rng(
                np.random.SeedSequence([seed, 3, obj.obj_id]))
            renderer.set_environment(clutter_cubemap(env_rng, face))
            df = DenseFusionScene(root / 'densefusion' / 'data'
                                   / f'{obj.obj_id:02d}', depth) \
                if densefusion else None
            if test_recording == 'same':
                sequences = _one_recording(seed, obj.obj_id, sizes,
                                           distance_range)
            else:
                sequences = _new_recordings(seed, obj.obj_id, sizes,
                                            distance_range)
            # each object's room is turned by its own angle
            room = (360.0 * obj.obj_id * _GOLDEN) % 360.0
            for split_idx, (split, (path, light, env_rotation,
                                    noise_seeds)) in enumerate(
                                        sequences.items()):
                if lighting == 'random':  # a random stream of its own
                    light = randomised_lighting(
                        np.random.default_rng(np.random.SeedSequence(
                            [seed, 5, obj.obj_id, split_idx])), path.R)
                _render_sequence(renderer, writer, obj, K,
                                 root / split / f'{obj.obj_id:06d}', split,
                                 path, light, env_rotation, noise_seeds,
                                 depth, df, bar, backdrop, room)
            if df is not None:
                df.finish()
        writer.flush()
    finally:
        writer.close()
        bar.close()


#: What one split is rendered from: camera path, lighting, rotation of the
#: surroundings and one noise seed per frame.
_Sequence = Tuple[CameraPath, Lighting, np.ndarray, np.ndarray]


def _one_recording(seed: int, obj_id: int, sizes: Dict[str, int],
                   distance_range: Tuple[float, float]
                   ) -> Dict[str, _Sequence]:
    """Both splits as frames of one recording (LINEMOD's protocol)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4, obj_id]))
    path = recording_path(rng, RECORDING_FRAMES, distance_range)
    light = recording_lighting(rng, RECORDING_FRAMES)
    frames = {'train': recording_frames(sizes['train'], MAX_TRAIN_STEP)}
    frames['test'] = held_out_frames(frames['train'], sizes['test'])
    return {split: (path.take(f), light.take(f), np.eye(3),
                    rng.integers(0, 2**32, size=len(f), dtype=np.uint64))
            for split, f in frames.items() if len(f)}


def _new_recordings(seed: int, obj_id: int, sizes: Dict[str, int],
                    distance_range: Tuple[float, float]
                    ) -> Dict[str, _Sequence]:
    """Each split its own recording (its own path, light and sensor)."""
    out = {}
    for split_idx, split in enumerate(SPLITS):
        num = sizes[split]
        if num == 0:
            continue
        rng = np.random.default_rng(np.random.SeedSequence(
            [seed, 2, obj_id, split_idx]))
        # a training sequence is a video (the triplet sampler needs
        # neighbours); a test sequence only needs to cover the recording
        max_step = MAX_TRAIN_STEP if split == 'train' else None
        path = camera_path(rng, num, max_step, distance_range)
        light = lighting(rng, num, max_step)
        env_rotation = np.eye(3) if split == 'train' else random_rotation(rng)
        out[split] = (path, light, env_rotation,
                      rng.integers(0, 2**32, size=num, dtype=np.uint64))
    return out


def _render_sequence(renderer: Renderer, writer: FileWriter,
                     obj: SyntheticObject, K: np.ndarray, scene_dir: Path,
                     split: str, path: CameraPath, light: Lighting,
                     env_rotation: np.ndarray, noise_seeds: np.ndarray,
                     depth: bool, df: Optional[DenseFusionScene],
                     bar: tqdm, backdrop: Optional[PhotoBackdrop],
                     room: float) -> None:
    """Render and write one object's sequence of one split (over the
    ``backdrop``'s photographs, turned by ``room`` degrees, if given)."""
    num = len(path)
    dirs = ['rgb', 'mask', 'mask_visib'] + (['depth'] if depth else [])
    for d in dirs:
        (scene_dir / d).mkdir(parents=True, exist_ok=True)
    cam_K = [float(x) for x in K.ravel()]
    w, h = renderer.width, renderer.height
    scene_gt, scene_camera, scene_info = {}, {}, {}
    for i in range(num):
        R, t = path.R[i], path.t[i]
        rgb, mask, z = renderer.render(
            R, t, **light.frame(i), seed=int(noise_seeds[i]),
            environment_rotation=env_rotation)
        if backdrop is not None:
            rgb = composite(rgb, mask, backdrop.background(
                path.azimuth[i], path.elevation[i], room), light.gain[i])
        info = _gt_info(renderer, obj, R, t, K, mask, w, h)
        gt = {'cam_R_m2c': [float(x) for x in R.ravel()],
              'cam_t_m2c': [float(x) for x in t],
              'obj_id': obj.obj_id}
        scene_gt[str(i)] = [gt]
        scene_camera[str(i)] = {'cam_K': cam_K, 'depth_scale': DEPTH_SCALE}
        scene_info[str(i)] = [info]
        depth_mm = depth_uint16(z) if depth else None
        writer.submit(write_bop_frame, scene_dir, i, rgb, mask, depth_mm)
        if df is not None:  # after the BOP frame (one worker, in order)
            df.add(writer, split, scene_dir, i, mask, gt, info, cam_K)
        bar.update(1)
    write_json(scene_dir / 'scene_gt.json', scene_gt)
    write_json(scene_dir / 'scene_camera.json', scene_camera)
    write_json(scene_dir / 'scene_gt_info.json', scene_info)


def _gt_info(renderer: Renderer, obj: SyntheticObject, R: np.ndarray,
             t: np.ndarray, K: np.ndarray, mask: np.ndarray, w: int,
             h: int) -> dict:
    """BOP ``scene_gt_info`` entry of one frame."""
    visib = int(mask.sum())
    bbox_visib = _bbox(mask)
    uv = project_points(obj.mesh.vertices, R, t, K)
    touches = (mask[0].any() or mask[-1].any() or mask[:, 0].any()
               or mask[:, -1].any())
    outside = (uv.min() < -0.5 or uv[:, 0].max() > w - 0.5
               or uv[:, 1].max() > h - 0.5)
    if touches or outside:
        full = renderer.silhouette(R, t, w, h)
        count_all = int(full.sum())
        x, y, bw, bh = _bbox(full)
        bbox_obj = [x - w, y - h, bw, bh] if count_all else [-1] * 4
    else:
        count_all, bbox_obj = visib, bbox_visib
    fract = min(1.0, visib / count_all) if count_all else 0.0
    return {'bbox_obj': bbox_obj, 'bbox_visib': bbox_visib,
            'px_count_all': count_all, 'px_count_valid': visib,
            'px_count_visib': visib, 'visib_fract': fract}


def _bbox(mask: np.ndarray) -> List[int]:
    """BOP box of a mask as whole pixels (:func:`mask_box`), -1s if empty.
    """
    if not mask.any():
        return [-1, -1, -1, -1]
    return [int(v) for v in mask_box(mask)]


# ------------------------------------------------------------ helpers
def _check_args(num_objects: int, train_frames: int, test_frames: int,
                width: int, height: int, seed: int,
                densefusion: bool, test_recording: str, lighting: str) -> None:
    def whole(name: str, value: object, low: int, high: int) -> None:
        if (not isinstance(value, (int, np.integer))
                or isinstance(value, bool) or not low <= value <= high):
            raise ValueError(f'{name} must be a whole number in [{low}, '
                             f'{high}], got {value!r}')

    whole('num_objects', num_objects, 1, 99)
    whole('train_frames', train_frames, 1, 999_999)
    whole('test_frames', test_frames, 0, 999_999)
    whole('width', width, 16, 8192)
    whole('height', height, 16, 8192)
    whole('seed', seed, 0, 2**63 - 1)
    for name, value, choices in (('test_recording', test_recording,
                                  TEST_RECORDINGS),
                                 ('lighting', lighting, LIGHTINGS)):
        if value not in choices:
            raise ValueError(f'{name} must be one of {choices}, got '
                             f'{value!r}')
    if (test_recording == 'same'
            and train_frames + test_frames > RECORDING_FRAMES):
        raise ValueError(
            f"test_recording='same' takes both splits from one "
            f"{RECORDING_FRAMES}-frame recording: train_frames + test_frames "
            f"must be <= {RECORDING_FRAMES}, got {train_frames + test_frames}"
            " (use test_recording='new' for longer splits)")
    if densefusion and train_frames + test_frames > 10_000:
        raise ValueError('the DenseFusion layout numbers frames with four '
                         'digits: train_frames + test_frames must be <= '
                         f'10000, got {train_frames + test_frames}')


def _remove(path: Path) -> None:
    """Delete a file, a link or a folder tree."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _remove_outputs(root: Path) -> List[str]:
    """Delete what the generator writes in ``root``; return the other
    entries of ``train/`` and ``test/`` (kept), relative to ``root``."""
    kept: List[str] = []
    for split in ('train', 'test'):
        folder = root / split
        if not folder.is_dir() or folder.is_symlink():
            _remove(folder)
            continue
        for scene in sorted(folder.iterdir()):
            if not (scene.name.isdigit() and scene.is_dir()
                    and not scene.is_symlink()):
                kept.append(f'{split}/{scene.name}')
                continue
            for name in _SCENE_OUTPUTS:
                _remove(scene / name)
            others = sorted(p.name for p in scene.iterdir())
            kept += [f'{split}/{scene.name}/{n}' for n in others]
            if not others:
                scene.rmdir()
    for name in _OUTPUTS:
        if name not in ('train', 'test'):
            _remove(root / name)
    return kept


def _prepare_root(root: Path, overwrite: bool) -> Path:
    """Create ``root``, refusing a non-empty one unless ``overwrite``.

    With ``overwrite`` only what the generator writes is deleted: in each
    scene folder of ``train/`` and ``test/`` the :data:`_SCENE_OUTPUTS`,
    and the other :data:`_OUTPUTS` of the root; any other file in
    ``train/`` or ``test/`` is kept and named in one warning.
    """
    root = Path(os.path.abspath(root))
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f'{root}: output path is a file, not a '
                                 'folder')
    if root.is_dir() and any(root.iterdir()):
        if not overwrite:
            raise FileExistsError(f'{root}: output folder is not empty '
                                  '(pass overwrite=True / --overwrite to '
                                  'replace its synthetic LINEMOD files)')
        kept = _remove_outputs(root)
        if kept:
            shown = ', '.join(kept[:5]) + (
                f' and {len(kept) - 5} more' if len(kept) > 5 else '')
            logger.warning('%s: overwrite kept %d file(s) the generator did '
                           'not write: %s', root, len(kept), shown)
    root.mkdir(parents=True, exist_ok=True)
    return root
