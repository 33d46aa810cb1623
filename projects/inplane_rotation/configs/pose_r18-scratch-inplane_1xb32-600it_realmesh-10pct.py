# Baseline: the real-mesh in-plane rotation pose model and schedule from
# randomly initialised weights. Measured: 75.0 % ADD(-S)@0.1d (fit 91.7)
# against 78.5 % without (seed 0; projects/inplane_rotation/README.md).
_base_ = ['./pose_r18-ssl-ft-inplane_1xb32-600it_realmesh-10pct.py']
model = dict(backbone=dict(init_cfg=None))
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
