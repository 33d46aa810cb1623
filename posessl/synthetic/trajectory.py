"""Hand-held-like camera paths and slowly varying lighting: smooth random
signals, so neighbouring frames are neighbouring viewpoints under nearly the
same light. The object sits at the origin with +z up; the camera moves over
the upper hemisphere looking roughly at it."""
from dataclasses import dataclass, fields
from typing import Optional, Tuple, Union

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..geometry.rotation import axis_rotation, look_at_rotation

#: Frames of the one recording every sequence is a subsample of.
RECORDING_FRAMES = 1200
#: Largest gap (recording frames) between consecutive training frames.
MAX_TRAIN_STEP = 4.5
# Path ranges (degrees, mm): mean azimuth turn per frame, elevation and
# distance swept in so many passes per recording, roll and look-at jitter.
AZIMUTH_RATE = 0.9
ELEVATION_RANGE = (8.0, 82.0)
DISTANCE_RANGE = (400.0, 1500.0)
#: LINEMOD's own camera distances (mm), for real ~100 mm models.
LINEMOD_DISTANCE_RANGE = (600.0, 1300.0)
ELEVATION_SWEEPS = 2.6
DISTANCE_SWEEPS = 3.7
ROLL_STD = 15.0
LIGHT_WOBBLE_STD = 4.0
PAN_STD, TILT_STD = 14.0, 11.0
PAN_MAX, TILT_MAX = 27.0, 21.0


def smooth_noise(rng: np.random.Generator, num: int, std: float,
                 frames: float) -> np.ndarray:
    """(num,) smooth random signal of (expected, not sample) standard
    deviation ``std``: white noise through a Gaussian of sigma ``frames``."""
    pad = int(4 * frames) + 1
    white = rng.normal(size=num + 2 * pad)
    smooth = gaussian_filter1d(white, frames, mode='constant')[pad:pad + num]
    return smooth * std * np.sqrt(2.0 * np.sqrt(np.pi) * frames)


def recording_frames(num_frames: int,
                     max_step: Optional[float] = MAX_TRAIN_STEP
                     ) -> np.ndarray:
    """Which frames of the recording a ``num_frames`` sequence keeps.

    Evenly spaced from frame 0, ``min((RECORDING_FRAMES - 1) / (num_frames
    - 1), max_step)`` apart (``max_step=None``: always the whole recording);
    a sequence longer than the recording keeps every frame.
    """
    if num_frames < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    if num_frames >= RECORDING_FRAMES:
        return np.arange(num_frames)
    step = (RECORDING_FRAMES - 1) / max(num_frames - 1, 1)
    if max_step is not None:
        step = min(step, float(max_step))
    return np.round(np.arange(num_frames) * step).astype(int)


def held_out_frames(train: np.ndarray, num_frames: int,
                    recording_length: int = RECORDING_FRAMES) -> np.ndarray:
    """``num_frames`` test frames of the recording ``train`` comes from:
    spread evenly over the unused frames between the first and last
    training frame, else (too few there) over all unused frames.

    Raises:
        ValueError: fewer unused frames than ``num_frames``.
    """
    train = np.asarray(train)
    free = np.setdiff1d(np.arange(recording_length), train)
    between = free[(free > train.min()) & (free < train.max())] \
        if len(train) else free
    if num_frames <= len(between):
        free = between
    elif num_frames > len(free):
        raise ValueError(
            f'a test split of {num_frames} frames does not fit in the '
            f'{len(free)} frames of the {recording_length}-frame recording '
            f'that the {len(train)} training frames leave free')
    return free[((np.arange(num_frames) + 0.5) * len(free)
                 / max(num_frames, 1)).astype(int)]


def _sweep(rng: np.random.Generator, num: int, low: float, high: float,
           passes: float) -> np.ndarray:
    """Frames ``0..num-1`` of ``passes`` smooth passes between ``low`` and
    ``high`` per recording, from a random phase (a cosine)."""
    phase = rng.uniform(0, 2 * np.pi) + (
        np.pi * passes * np.arange(num) / RECORDING_FRAMES)
    return low + (high - low) * 0.5 * (1.0 - np.cos(phase))


def _reflect(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fold values into [low, high] by reflection at the ends (smooth)."""
    span = high - low
    y = np.mod(x - low, 2 * span)
    return low + np.where(y > span, 2 * span - y, y)


def _take(seq, frames: np.ndarray):
    """Copy of a per-frame dataclass at ``frames`` (scalars kept)."""
    return type(seq)(*(x[frames] if np.ndim(x) else x for x in (
        getattr(seq, f.name) for f in fields(seq))))


@dataclass
class CameraPath:
    """Per-frame camera poses and the parameters that made them.

    Attributes:
        R: (N, 3, 3) model-to-camera rotations (BOP ``cam_R_m2c``).
        t: (N, 3) model-to-camera translations in mm (``cam_t_m2c``).
        azimuth, elevation, roll: (N,) degrees.
        distance: (N,) camera-to-object-centre distance in mm.
    """

    R: np.ndarray
    t: np.ndarray
    azimuth: np.ndarray
    elevation: np.ndarray
    roll: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.R)

    def take(self, frames: np.ndarray) -> 'CameraPath':
        """The path at the given frame indices."""
        return _take(self, frames)


def recording_path(rng: np.random.Generator, num_frames: int,
                   distance_range: Tuple[float, float] = DISTANCE_RANGE
                   ) -> CameraPath:
    """Every frame of a hand-held-like recording: azimuth drifts, elevation
    and distance (``distance_range``, mm) sweep their whole ranges, roll
    wanders, and a pan/tilt jitter moves the object around the image (now
    and then cut by the border)."""
    n = int(num_frames)
    if n < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    direction = rng.choice([-1.0, 1.0])
    azimuth = (rng.uniform(0, 360) + direction * AZIMUTH_RATE * np.arange(n)
               + smooth_noise(rng, n, 25.0, 40.0))
    lo, hi = ELEVATION_RANGE
    elevation = _reflect(
        _sweep(rng, n, lo, hi, ELEVATION_SWEEPS)
        + smooth_noise(rng, n, 6.0, 30.0), lo, hi)
    d_lo, d_hi = distance_range
    distance = np.exp(_reflect(
        _sweep(rng, n, np.log(d_lo), np.log(d_hi), DISTANCE_SWEEPS)
        + smooth_noise(rng, n, 0.08, 30.0), np.log(d_lo), np.log(d_hi)))
    roll = smooth_noise(rng, n, ROLL_STD, 40.0)
    pan = PAN_MAX * np.tanh(smooth_noise(rng, n, PAN_STD, 25.0) / PAN_MAX)
    tilt = TILT_MAX * np.tanh(smooth_noise(rng, n, TILT_STD, 25.0)
                              / TILT_MAX)
    az, el = np.radians(azimuth), np.radians(elevation)
    centres = distance[:, None] * np.stack(
        [np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], 1)
    R = np.empty((n, 3, 3))
    t = np.empty((n, 3))
    for i in range(n):
        c2m = (look_at_rotation(centres[i])
               @ axis_rotation(2, np.radians(roll[i]))
               @ axis_rotation(1, np.radians(pan[i]))
               @ axis_rotation(0, np.radians(tilt[i])))
        R[i] = c2m.T
        t[i] = -c2m.T @ centres[i]
    return CameraPath(R, t, np.mod(azimuth, 360.0), elevation, roll,
                      distance)


def camera_path(rng: np.random.Generator, num_frames: int,
                max_step: Optional[float] = MAX_TRAIN_STEP,
                distance_range: Tuple[float, float] = DISTANCE_RANGE
                ) -> CameraPath:
    """A ``num_frames`` sequence of a recording (:func:`recording_path`)
    subsampled by :func:`recording_frames` with ``max_step``."""
    keep = recording_frames(num_frames, max_step)
    return recording_path(rng, int(keep[-1]) + 1,
                          distance_range).take(keep)


@dataclass
class Lighting:
    """Per-frame lighting and sensor settings of one sequence.

    Attributes:
        light_dir: (N, 3) unit direction towards the light (model frame).
        ambient, diffuse: (N,) light strengths.
        gain: (N, 3) exposure times white balance per RGB channel.
        background_gain: (N,) brightness of the background relative to
            ``gain``.
        specular, shininess, noise_std: material and sensor noise
            (standard deviation in 0-1 intensity units): one value for the
            sequence, or (N,) per frame (:func:`randomised_lighting`).
    """

    light_dir: np.ndarray
    ambient: np.ndarray
    diffuse: np.ndarray
    gain: np.ndarray
    background_gain: np.ndarray
    specular: Union[float, np.ndarray]
    shininess: Union[float, np.ndarray]
    noise_std: Union[float, np.ndarray]

    def take(self, frames: np.ndarray) -> 'Lighting':
        """The lighting at the given frame indices."""
        return _take(self, frames)

    def frame(self, i: int) -> dict:
        """The :meth:`Renderer.render` light settings of frame ``i``."""

        def at(x):
            return float(x[i]) if np.ndim(x) else float(x)

        return dict(light_dir=self.light_dir[i], ambient=at(self.ambient),
                    diffuse=at(self.diffuse),
                    specular=at(self.specular),
                    shininess=at(self.shininess), gain=self.gain[i],
                    background_gain=at(self.background_gain),
                    noise_std=at(self.noise_std))


def randomised_lighting(rng: np.random.Generator,
                        R: np.ndarray) -> Lighting:
    """A new light, material and exposure for every frame of the rotations
    ``R`` (N, 3, 3): the light within 80 deg of the camera's optical axis,
    ambient 0.15-0.7, diffuse 0.3-1.0, specular 0-0.6, shininess 4-64,
    exposure 0.6-1.5 (log-uniform), white balance +-10 %, noise 1-8 grey
    levels."""
    R = np.asarray(R, dtype=np.float64)
    n = len(R)
    cos_max = np.cos(np.radians(80.0))
    cz = rng.uniform(cos_max, 1.0, n)  # uniform on the spherical cap
    phi = rng.uniform(0.0, 2 * np.pi, n)
    sz = np.sqrt(1.0 - cz**2)
    # towards the light in camera coordinates (the camera looks along +z)
    to_light = np.stack([sz * np.cos(phi), sz * np.sin(phi), -cz], 1)
    light_dir = np.einsum('nji,nj->ni', R, to_light)  # R^T v per frame
    exposure = np.exp(rng.uniform(np.log(0.6), np.log(1.5), n))
    white = 1.0 + rng.uniform(-0.1, 0.1, size=(n, 3))
    gain = exposure[:, None] * white / white.mean(1, keepdims=True)
    return Lighting(light_dir, rng.uniform(0.15, 0.7, n),
                    rng.uniform(0.3, 1.0, n), gain,
                    rng.uniform(0.6, 1.1, n),
                    specular=rng.uniform(0.0, 0.6, n),
                    shininess=np.exp(rng.uniform(np.log(4), np.log(64), n)),
                    noise_std=rng.uniform(1.0, 8.0, n) / 255.0)


def recording_lighting(rng: np.random.Generator, num_frames: int
                       ) -> Lighting:
    """Room light and exposure over every frame of a recording: the light
    fixed in the model frame up to a small wobble, the exposure drifting
    slowly."""
    n = int(num_frames)
    if n < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    light_az = np.radians(rng.uniform(0, 360) + smooth_noise(
        rng, n, LIGHT_WOBBLE_STD, 60.0))
    light_el = np.radians(_reflect(
        rng.uniform(25, 80) + smooth_noise(rng, n, LIGHT_WOBBLE_STD, 60.0),
        15.0, 85.0))
    light_dir = np.stack([np.cos(light_el) * np.cos(light_az),
                          np.cos(light_el) * np.sin(light_az),
                          np.sin(light_el)], 1)
    ambient = rng.uniform(0.3, 0.45) + 0.02 * np.tanh(
        smooth_noise(rng, n, 1.0, 40.0))
    diffuse = rng.uniform(0.55, 0.85) + 0.04 * np.tanh(
        smooth_noise(rng, n, 1.0, 40.0))
    exposure = np.exp(0.15 * np.tanh(smooth_noise(rng, n, 1.5, 30.0)))
    white = 1.0 + rng.normal(0.0, 0.05, size=3)
    gain = exposure[:, None] * (white / white.mean())[None, :]
    background_gain = 0.8 + 0.15 * np.tanh(smooth_noise(rng, n, 1.0, 60.0))
    return Lighting(light_dir, ambient, diffuse, gain, background_gain,
                    specular=float(rng.uniform(0.05, 0.3)),
                    shininess=float(rng.uniform(8.0, 40.0)),
                    noise_std=float(rng.uniform(1.5, 4.0) / 255.0))


def lighting(rng: np.random.Generator, num_frames: int,
             max_step: Optional[float] = MAX_TRAIN_STEP) -> Lighting:
    """The light of a ``num_frames`` sequence subsampled like
    :func:`camera_path` (see :func:`recording_lighting`)."""
    keep = recording_frames(num_frames, max_step)
    return recording_lighting(rng, int(keep[-1]) + 1).take(keep)
