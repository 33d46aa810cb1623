"""Decoded, cropped frames in a memory-mapped file, jitter applied on top.

Importing this package registers ``FrameCacheDataset`` in posessl's
DATASETS (a config does it with ``custom_imports``).
"""
from .dataset import FrameCacheDataset, cache_key, window_in_cache

__all__ = ['FrameCacheDataset', 'cache_key', 'window_in_cache']
