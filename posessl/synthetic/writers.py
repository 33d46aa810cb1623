"""The files of a synthetic LINEMOD: BOP frames and annotations, models,
DenseFusion's layout, and a writer thread that overlaps PNG encoding with
rendering. :mod:`posessl.synthetic.generator` decides what to write."""
import json
import os
import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Deque, Dict, List, Optional

import numpy as np
import yaml

from .objects import SyntheticObject
from .png import encode_png

DEPTH_SCALE = 1.0  # depth PNG units per mm, as LINEMOD's
SPLITS = ('train', 'test')


def depth_uint16(z: np.ndarray) -> np.ndarray:
    """Camera z (mm, 0 = none) as LINEMOD's uint16 depth image."""
    return np.clip(np.round(z / DEPTH_SCALE), 0, 65535).astype(np.uint16)


def write_bop_frame(scene_dir: Path, i: int, rgb: np.ndarray,
                     mask: np.ndarray, depth_mm: Optional[np.ndarray]
                     ) -> None:
    """Encode and write one BOP frame (mask and mask_visib are equal: no
    occluders)."""
    name = f'{i:06d}'
    (scene_dir / 'rgb' / f'{name}.png').write_bytes(encode_png(rgb))
    mask_png = encode_png(mask.astype(np.uint8) * 255)
    (scene_dir / 'mask' / f'{name}_000000.png').write_bytes(mask_png)
    (scene_dir / 'mask_visib' / f'{name}_000000.png').write_bytes(mask_png)
    if depth_mm is not None:
        (scene_dir / 'depth' / f'{name}.png').write_bytes(
            encode_png(depth_mm))


# ------------------------------------------------------------ DenseFusion
class DenseFusionScene:
    """One ``data/<NN>`` folder: train frames first, then test frames."""

    def __init__(self, folder: Path, depth: bool) -> None:
        self.folder = folder
        self.depth = depth
        for d in ['rgb', 'mask'] + (['depth'] if depth else []):
            (folder / d).mkdir(parents=True, exist_ok=True)
        self.gt: Dict[int, list] = {}
        self.info: Dict[int, dict] = {}
        self.ids: Dict[str, List[int]] = {s: [] for s in SPLITS}

    def add(self, writer: 'FileWriter', split: str, bop_scene: Path,
            bop_id: int, mask: np.ndarray, gt: dict, info: dict,
            cam_K: List[float]) -> None:
        """Queue one frame (same pose values as the BOP files).

        The RGB and depth images are the BOP frame's files, hard-linked
        where the file system allows (copied otherwise).
        """
        idx = len(self.gt)
        self.ids[split].append(idx)
        self.gt[idx] = [{'cam_R_m2c': gt['cam_R_m2c'],
                         'cam_t_m2c': gt['cam_t_m2c'],
                         'obj_bb': info['bbox_visib'],
                         'obj_id': gt['obj_id']}]
        self.info[idx] = {'cam_K': cam_K, 'depth_scale': DEPTH_SCALE}
        writer.submit(self._write_frame, idx, bop_scene, bop_id, mask)

    def _write_frame(self, idx: int, bop_scene: Path, bop_id: int,
                     mask: np.ndarray) -> None:
        name = f'{idx:04d}.png'
        dirs = ['rgb'] + (['depth'] if self.depth else [])
        for d in dirs:
            link_or_copy(bop_scene / d / f'{bop_id:06d}.png',
                          self.folder / d / name)
        # DenseFusion's masks are 3-channel, 255 on the object
        mask3 = np.repeat(mask.astype(np.uint8)[..., None] * 255, 3, axis=2)
        (self.folder / 'mask' / name).write_bytes(encode_png(mask3))

    def finish(self) -> None:
        """Write gt.yml, info.yml, train.txt and test.txt."""
        write_yaml(self.folder / 'gt.yml', self.gt)
        write_yaml(self.folder / 'info.yml', self.info)
        for split in SPLITS:
            lines = ''.join(f'{i:04d}\n' for i in self.ids[split])
            (self.folder / f'{split}.txt').write_text(lines)


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst``, or copy it across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_densefusion_models(folder: Path,
                              objects: List[SyntheticObject]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    infos = {}
    for obj in objects:
        obj.write_model(folder / f'obj_{obj.obj_id:02d}.ply')
        info = obj.models_info()
        infos[obj.obj_id] = {k: info[k] for k in (
            'diameter', 'min_x', 'min_y', 'min_z', 'size_x', 'size_y',
            'size_z')}
    write_yaml(folder / 'models_info.yml', infos)


# ------------------------------------------------------------ models
def write_models(root: Path, objects: List[SyntheticObject]) -> None:
    folder = root / 'models'
    folder.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        obj.write_model(folder / f'obj_{obj.obj_id:06d}.ply')
    write_json(folder / 'models_info.json',
                {str(o.obj_id): o.models_info() for o in objects})


def write_json(path: Path, content: dict, one_per_line: bool = True) -> None:
    """JSON with one top-level entry per line (like the BOP toolkit)."""
    if not one_per_line:
        path.write_text(json.dumps(content, indent=2) + '\n')
        return
    items = [f'  {json.dumps(str(k))}: {json.dumps(v)}'
             for k, v in content.items()]
    path.write_text('{\n' + ',\n'.join(items) + '\n}\n')


def write_json_rows(path: Path, rows: List[dict]) -> None:
    """A JSON list with one row per line (BOP's ``test_targets_bop19``)."""
    path.write_text('[\n' + ',\n'.join(f'  {json.dumps(r)}' for r in rows)
                    + '\n]\n')


class _PlainDumper(yaml.SafeDumper):
    """Writes shared lists out in full (no ``&id``/``*id`` aliases)."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def write_yaml(path: Path, content: dict) -> None:
    """YAML with flow-style number lists (like DenseFusion's files)."""
    path.write_text(yaml.dump(content, Dumper=_PlainDumper,
                              default_flow_style=None, sort_keys=False,
                              width=1000))


class FileWriter:
    """Encodes and writes files on one worker thread (zlib frees the GIL),
    so PNG compression overlaps with rendering; errors surface on
    ``flush``/``submit``."""

    def __init__(self, max_pending: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Deque[Future] = deque()
        self._max = max_pending

    def submit(self, fn: Callable, *args: object) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self._max:
            self._pending.popleft().result()

    def flush(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
