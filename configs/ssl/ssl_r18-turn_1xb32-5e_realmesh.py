# The relative-viewpoint pretraining of ssl_r18_1xb32-5e_realmesh.py plus an
# in-plane pretext signal: every anchor crop is also given 0-3 quarter turns
# and a linear head on the pooled backbone features names the turn
# (QuarterTurnHead; cross-entropy added to the triplet loss). The recording's
# roll stays within about +-15 deg, so an upright object has a canonical
# "up" that the backbone must learn to see.
_base_ = ['./ssl_r18_1xb32-5e_realmesh.py']
model = dict(turn_head=dict(type='QuarterTurnHead', loss_weight=1.0))
