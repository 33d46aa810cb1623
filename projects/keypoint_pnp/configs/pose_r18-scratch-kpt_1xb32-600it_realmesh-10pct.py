# Baseline: the real-mesh keypoint pose model and schedule from randomly
# initialised weights.
_base_ = ['./pose_r18-ssl-ft-kpt_1xb32-600it_realmesh-10pct.py']
model = dict(backbone=dict(init_cfg=None))
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
