"""Hand-held-like camera paths and slowly varying lighting.

Every quantity is a smooth random signal (white noise through a Gaussian
filter of a few dozen frames), so frame ``i`` and frame ``i + 1`` are
neighbouring viewpoints under nearly the same light, while frames far apart
differ. The object sits at the model origin with +z up; the camera moves
over the upper hemisphere looking roughly at the object.
"""
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

# Ranges of the path (degrees, millimetres).
AZIMUTH_RATE = 0.9  # mean turn per frame: ~3 circles in 1,200 frames
ELEVATION_RANGE = (8.0, 82.0)
DISTANCE_RANGE = (400.0, 1500.0)
ROLL_STD = 15.0
PAN_STD, TILT_STD = 14.0, 11.0  # look-at jitter: the object moves around
PAN_MAX, TILT_MAX = 27.0, 21.0  # keeps the object centre inside the view


def smooth_noise(rng: np.random.Generator, num: int, std: float,
                 frames: float) -> np.ndarray:
    """Stationary smooth random signal with standard deviation ``std``.

    White noise filtered by a Gaussian of ``frames`` frames (sigma); its
    scale is set from the filter's theory, not from the sample, so a short
    sequence is a prefix-like sample of the same process.
    """
    pad = int(4 * frames) + 1
    white = rng.normal(size=num + 2 * pad)
    smooth = gaussian_filter1d(white, frames, mode='constant')[pad:pad + num]
    return smooth * std * np.sqrt(2.0 * np.sqrt(np.pi) * frames)


def _reflect(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fold values into [low, high] by reflection at the ends (smooth)."""
    span = high - low
    y = np.mod(x - low, 2 * span)
    return low + np.where(y > span, 2 * span - y, y)


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


def look_at_rotation(centre: np.ndarray) -> np.ndarray:
    """Camera-to-model rotation of a camera at ``centre`` facing the origin.

    OpenCV axes: x right, y down, z forward; the model's +z is up in the
    image. Columns are the camera axes in model coordinates.
    """
    forward = -centre / np.linalg.norm(centre)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward], 1)


def _axis_rotation(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(3)
    m[i, i] = m[j, j] = c
    m[i, j], m[j, i] = -s, s
    return m


def camera_path(rng: np.random.Generator, num_frames: int) -> CameraPath:
    """A smooth, hand-held-like path over the upper hemisphere.

    Azimuth drifts (with wobble), elevation, distance and roll wander
    smoothly, and a pan/tilt jitter moves the object around the image so it
    is now and then cut by the border.
    """
    n = num_frames
    direction = rng.choice([-1.0, 1.0])
    azimuth = (rng.uniform(0, 360) + direction * AZIMUTH_RATE * np.arange(n)
               + smooth_noise(rng, n, 25.0, 40.0))
    lo, hi = ELEVATION_RANGE
    elevation = _reflect(rng.uniform(lo, hi) + smooth_noise(rng, n, 25.0,
                                                            50.0), lo, hi)
    d_lo, d_hi = DISTANCE_RANGE
    mid = rng.normal(0.0, 0.5)
    distance = d_lo + (d_hi - d_lo) / (
        1.0 + np.exp(-(mid + smooth_noise(rng, n, 1.0, 50.0))))
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
               @ _axis_rotation(2, np.radians(roll[i]))
               @ _axis_rotation(1, np.radians(pan[i]))
               @ _axis_rotation(0, np.radians(tilt[i])))
        R[i] = c2m.T
        t[i] = -c2m.T @ centres[i]
    return CameraPath(R, t, np.mod(azimuth, 360.0), elevation, roll,
                      distance)


@dataclass
class Lighting:
    """Per-frame lighting and sensor settings of one sequence.

    Attributes:
        light_dir: (N, 3) unit direction towards the light (model frame).
        ambient, diffuse: (N,) light strengths.
        gain: (N, 3) exposure times white balance per RGB channel.
        background_gain: (N,) brightness of the background relative to
            ``gain``.
        specular, shininess, noise_std: per-sequence material and sensor
            noise (standard deviation in 0-1 intensity units).
    """

    light_dir: np.ndarray
    ambient: np.ndarray
    diffuse: np.ndarray
    gain: np.ndarray
    background_gain: np.ndarray
    specular: float
    shininess: float
    noise_std: float


def lighting(rng: np.random.Generator, num_frames: int) -> Lighting:
    """Directional plus ambient light that drifts over the sequence."""
    n = num_frames
    light_az = np.radians(rng.uniform(0, 360) + smooth_noise(rng, n, 60.0,
                                                             60.0))
    light_el = np.radians(_reflect(
        rng.uniform(25, 80) + smooth_noise(rng, n, 20.0, 60.0), 15.0, 85.0))
    light_dir = np.stack([np.cos(light_el) * np.cos(light_az),
                          np.cos(light_el) * np.sin(light_az),
                          np.sin(light_el)], 1)
    ambient = 0.38 + 0.12 * np.tanh(smooth_noise(rng, n, 1.0, 40.0))
    diffuse = 0.7 + 0.2 * np.tanh(smooth_noise(rng, n, 1.0, 40.0))
    exposure = np.exp(0.15 * np.tanh(smooth_noise(rng, n, 1.5, 30.0)))
    white = 1.0 + rng.normal(0.0, 0.05, size=3)
    gain = exposure[:, None] * (white / white.mean())[None, :]
    background_gain = 0.8 + 0.15 * np.tanh(smooth_noise(rng, n, 1.0, 60.0))
    return Lighting(light_dir, ambient, diffuse, gain, background_gain,
                    specular=float(rng.uniform(0.05, 0.3)),
                    shininess=float(rng.uniform(8.0, 40.0)),
                    noise_std=float(rng.uniform(1.5, 4.0) / 255.0))
