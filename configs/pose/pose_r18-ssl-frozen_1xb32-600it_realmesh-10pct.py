# Linear-probe variant on the real-mesh set: the self-supervised backbone
# stays frozen (weights and BN statistics); only the pose head trains.
_base_ = ['./pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py']
model = dict(freeze_backbone=True)
optim_wrapper = dict(paramwise_cfg=dict(_delete_=True))
