"""Data samplers."""
from .triplet_sampler import TripletSampler

__all__ = ['TripletSampler']
