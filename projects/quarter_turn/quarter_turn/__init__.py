"""The quarter-turn pretext beside relative-viewpoint pretraining.

Importing this package registers ``QuarterTurnHead`` and
``QuarterTurnPretrainer`` in posessl's MODELS (a config does it with
``custom_imports``).
"""
from .heads import QuarterTurnHead, quarter_turns
from .pretrainer import QuarterTurnPretrainer

__all__ = ['QuarterTurnHead', 'QuarterTurnPretrainer', 'quarter_turns']
