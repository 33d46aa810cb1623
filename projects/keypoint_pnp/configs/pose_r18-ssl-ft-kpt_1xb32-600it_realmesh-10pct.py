# The real-mesh 10 % pose model with the keypoint head in place of direct
# regression: the 8 corners and the centre of each object's box, predicted
# in the crop (L1 in crop coordinates) and turned into R, t by PnP at test
# time (KeypointPnPHead). Backbone, data and schedule are the regression
# config's.
_base_ = ['./pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py']
model = dict(
    head=dict(_delete_=True, type='KeypointPnPHead', hidden_channels=256,
              kpt_weight=1.0))
