"""Real photographs as the backgrounds of a rendered recording."""
from pathlib import Path
from typing import List

import cv2
import numpy as np

from ..errors import DataError
from .trajectory import ELEVATION_RANGE

#: File endings taken as photographs.
PHOTO_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')
#: How much larger than the frame each photograph is scaled (room to pan).
PAN_MARGIN = 1.25


def photo_files(folder: str) -> List[Path]:
    """The photographs of ``folder``, sorted by name.

    Raises:
        FileNotFoundError: the folder does not exist.
        DataError: it holds no photograph.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f'{root}: background folder not found')
    files = sorted(p for p in root.iterdir()
                   if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f'{root}: no photographs in the background folder '
                        f'(looked for {", ".join(PHOTO_SUFFIXES)})')
    return files


class PhotoBackdrop:
    """Backgrounds for one image size from a folder of photographs.

    The camera's azimuth picks the photograph (each covers an equal sector
    of the circle); inside a sector the view pans smoothly across it, and
    the elevation tilts the view, so neighbouring frames see a background
    that slides, as in a video.

    Args:
        folder: the photographs (RGB or grey, any size).
        width, height: the rendered frame's size.

    Raises:
        FileNotFoundError / DataError: a missing or empty folder, or an
            unreadable photograph (named).
    """

    def __init__(self, folder: str, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)
        self.files = photo_files(folder)
        big = (int(round(self.width * PAN_MARGIN)),
               int(round(self.height * PAN_MARGIN)))
        self.photos = [_read_rgb(p, big) for p in self.files]

    def __len__(self) -> int:
        return len(self.photos)

    def background(self, azimuth: float, elevation: float,
                   offset: float = 0.0) -> np.ndarray:
        """The (H, W, 3) uint8 background seen at this camera direction.

        Args:
            azimuth, elevation: camera direction around the object (deg).
            offset: turns the room (deg): objects get different rooms.
        """
        sector = 360.0 / len(self.photos)
        turn = np.mod(azimuth + offset, 360.0) / sector
        index = min(int(turn), len(self.photos) - 1)
        pan = turn - index  # 0..1 across the sector
        lo, hi = ELEVATION_RANGE
        tilt = float(np.clip((elevation - lo) / (hi - lo), 0.0, 1.0))
        photo = self.photos[index]
        x0 = int(round(pan * (photo.shape[1] - self.width)))
        y0 = int(round((1.0 - tilt) * (photo.shape[0] - self.height)))
        return photo[y0:y0 + self.height, x0:x0 + self.width]


def composite(render: np.ndarray, mask: np.ndarray, background: np.ndarray,
              gain: np.ndarray) -> np.ndarray:
    """The rendered object (``mask``) over ``background``, the photograph
    scaled by the frame's RGB exposure ``gain`` as the object was."""
    scaled = np.clip(background.astype(np.float32) * np.asarray(
        gain, np.float32), 0, 255).round().astype(np.uint8)
    return np.where(mask[..., None], render, scaled)


def _read_rgb(path: Path, size: tuple) -> np.ndarray:
    """A photograph as RGB uint8 covering ``size`` (w, h): scaled with its
    aspect kept, then the centre cut out."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DataError(f'{path}: cannot read the photograph (not an image '
                        'OpenCV can decode)')
    w, h = size
    scale = max(w / img.shape[1], h / img.shape[0])
    new = (max(w, int(np.ceil(img.shape[1] * scale))),
           max(h, int(np.ceil(img.shape[0] * scale))))
    img = cv2.resize(img, new, interpolation=cv2.INTER_AREA)
    x0, y0 = (new[0] - w) // 2, (new[1] - h) // 2
    return np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w, ::-1])
