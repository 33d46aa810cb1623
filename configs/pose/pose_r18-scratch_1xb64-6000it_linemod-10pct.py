# Baseline: the same pose model and schedule from random weights.
_base_ = ['./pose_r18-ssl-ft_1xb64-6000it_linemod-10pct.py']
model = dict(backbone=dict(init_cfg=None))
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
