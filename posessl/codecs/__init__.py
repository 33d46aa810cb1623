"""Target codecs: the pipeline encodes labels into training targets, the
head decodes its outputs with the same codec."""
from .site_codec import SITECodec

__all__ = ['SITECodec']
