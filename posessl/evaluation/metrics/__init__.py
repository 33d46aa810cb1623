"""MMEngine metrics of posessl (registered in ``posessl.registry.METRICS``)."""
from .add_metric import ADDMetric

__all__ = ['ADDMetric']
