"""A fast, deterministic PNG encoder (numpy + zlib: the "up" filter and
zlib's run-length strategy); the bytes depend only on zlib, so a seed always
gives the same files."""
import struct
import zlib

import numpy as np

_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_COLOUR_TYPE = {1: 0, 3: 2, 4: 6}  # grey, RGB, RGBA


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', crc)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` image.

    Args:
        image: uint8 (grey, RGB or RGBA) or uint16 (grey, e.g. depth).
    """
    image = np.asarray(image)
    if image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f'PNG needs uint8 or uint16 pixels, got {image.dtype}')
    channels = 1 if image.ndim == 2 else image.shape[-1]
    if image.ndim not in (2, 3) or channels not in _COLOUR_TYPE:
        raise ValueError(f'PNG needs an (H, W[, 1|3|4]) image, got shape '
                         f'{image.shape}')
    if image.dtype == np.uint16 and channels != 1:
        raise ValueError('16-bit PNG is only written for single-channel '
                         'images')
    h, w = image.shape[:2]
    # byte rows, big-endian samples as PNG stores them
    rows = np.ascontiguousarray(image.astype(image.dtype.newbyteorder('>')))
    rows = rows.view(np.uint8).reshape(h, -1)
    raw = np.empty((h, rows.shape[1] + 1), np.uint8)
    raw[:, 0] = 2  # filter "up": difference to the row above (mod 256)
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])
    header = struct.pack('>IIBBBBB', w, h, 8 * image.dtype.itemsize,
                         _COLOUR_TYPE[channels], 0, 0, 0)
    return (_SIGNATURE + _chunk(b'IHDR', header)
            + _chunk(b'IDAT', _deflate(raw.tobytes()))
            + _chunk(b'IEND', b''))


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    return packer.compress(data) + packer.flush()
