"""Data samplers."""
from .triplet_sampler import Triplet, TripletSampler

__all__ = ['Triplet', 'TripletSampler']
