"""Cube maps of random desk-like clutter, the distant surroundings the
renderer looks up along each pixel's viewing ray."""
import numpy as np


def clutter_cubemap(rng: np.random.Generator, face_size: int) -> np.ndarray:
    """Six faces of clutter, ``(6, face_size, face_size, 3)`` uint8: a
    shaded backdrop under a few hundred overlapping shapes and patterned
    cards of random colours and sizes."""
    faces = np.empty((6, face_size, face_size, 3), np.uint8)
    for k in range(6):
        faces[k] = _clutter_face(rng, face_size)
    return faces


def _random_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Desk-like colours: many muted, some saturated (0-255 floats)."""
    grey = rng.uniform(35, 215, size=(n, 1))
    tint = rng.uniform(-1, 1, size=(n, 3)) * rng.choice(
        [20.0, 60.0], size=(n, 1), p=[0.65, 0.35])
    return np.clip(grey + tint, 0, 255)


def _clutter_face(rng: np.random.Generator, s: int) -> np.ndarray:
    axis = np.arange(s, dtype=np.float32) / s
    c0, c1 = _random_colours(rng, 2).astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.float32(np.sin(angle)) * axis[:, None]
            + np.float32(np.cos(angle)) * axis[None, :])
    ramp -= ramp.min()
    ramp /= max(float(ramp.max()), 1e-6)
    # soft large-scale illumination (separable)
    fx, fy = rng.uniform(0.5, 2.0, 2)
    shade_x = 0.85 + 0.15 * np.cos(2 * np.pi * (fx * axis + rng.uniform()))
    shade_y = 0.9 + 0.1 * np.cos(2 * np.pi * (fy * axis + rng.uniform()))
    shade = (shade_y[:, None] * shade_x[None, :]).astype(np.float32)
    img = (c0 + (c1 - c0) * ramp[..., None]) * shade[..., None]

    num = int(rng.integers(150, 260))
    sizes = np.sort(np.exp(rng.uniform(np.log(s / 60), np.log(s / 3),
                                       size=num)))[::-1]
    colours = _random_colours(rng, 2 * num).reshape(num, 2, 3)
    for size, (ca, cb) in zip(sizes, colours):
        w = max(2, int(size * rng.uniform(0.3, 1.0)))
        h = max(2, int(size * rng.uniform(0.3, 1.0)))
        x0 = int(rng.integers(-w // 2, s - w // 2))
        y0 = int(rng.integers(-h // 2, s - h // 2))
        xs0, ys0 = max(x0, 0), max(y0, 0)
        xs1, ys1 = min(x0 + w, s), min(y0 + h, s)
        if xs1 <= xs0 or ys1 <= ys0:
            continue
        region = img[ys0:ys1, xs0:xs1]
        lx = (np.arange(xs0, xs1, dtype=np.float32) - x0)[None, :]
        ly = (np.arange(ys0, ys1, dtype=np.float32) - y0)[:, None]
        kind = rng.choice(['rect', 'disc', 'bar', 'stripes', 'checks',
                           'text', 'grain'],
                          p=[0.25, 0.2, 0.1, 0.15, 0.1, 0.1, 0.1])
        if kind == 'disc':
            inside = (((lx - w / 2) / (w / 2))**2
                      + ((ly - h / 2) / (h / 2))**2) < 1.0
            region[inside] = ca
        elif kind == 'bar':
            # a thin slanted bar (pens, cables) across the box
            a = rng.uniform(0, np.pi)
            dist = np.abs(np.cos(a) * (lx - w / 2) + np.sin(a) * (ly - h / 2))
            region[dist < rng.uniform(1.5, 5.0)] = ca
        elif kind == 'stripes':
            period = rng.uniform(4, 24)
            a = rng.uniform(0, np.pi)
            on = np.sin(2 * np.pi * (np.cos(a) * lx + np.sin(a) * ly)
                        / period) > 0
            region[...] = np.where(on[..., None], ca, cb)
        elif kind == 'checks':
            cell = rng.uniform(4, 20)
            on = ((np.floor(lx / cell) + np.floor(ly / cell)) % 2) == 0
            region[...] = np.where(on[..., None], ca, cb)
        elif kind == 'text':
            # a card with rows of short dark dashes, like printed text
            region[...] = cb * 0.3 + 180.0
            pitch = rng.uniform(5, 12)
            row = (ly % pitch) < pitch * 0.45
            word = np.sin(lx / rng.uniform(2, 6) + rng.uniform(0, 6)) > -0.3
            region[row & word] = ca * 0.35
        elif kind == 'grain':
            noise = rng.normal(0.0, 25.0, size=(ys1 - ys0, xs1 - xs0, 1))
            region[...] = ca + noise.astype(np.float32)
        else:
            region[...] = ca
    return np.clip(img, 0, 255).astype(np.uint8)
