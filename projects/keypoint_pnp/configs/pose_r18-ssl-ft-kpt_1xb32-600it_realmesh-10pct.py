# The real-mesh 10 % pose model with the keypoint head in place of direct
# regression: the 8 corners and the centre of each object's box, predicted
# in the crop (L1 in crop coordinates) and turned into R, t by PnP at test
# time (KeypointPnPHead). Backbone, data and schedule are the regression
# config's. Measured: 63.5 % ADD(-S)@0.1d against 74.0 % for that config
# (seed 0; projects/keypoint_pnp/README.md).
_base_ = [
    '../../../configs/pose/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py'
]
custom_imports = dict(
    imports=['projects.keypoint_pnp.keypoint_pnp'],
    allow_failed_imports=False)
model = dict(
    head=dict(_delete_=True, type='KeypointPnPHead', hidden_channels=256,
              kpt_weight=1.0))
