# Zero real labels: ResNet18 pose regression trained only on renders of the
# ape and duck models (randomised light, strong photometric jitter), scored
# on real LINEMOD-Occluded photographs (docs/results.md).
_base_ = [
    '../_base_/models/pose_r18.py', '../_base_/datasets/lmo_real_pose.py',
    '../_base_/schedules/pose_adamw_600it.py',
    '../_base_/default_runtime.py'
]
max_iters = 1200
model = dict(objects=dict(models_dir={{_base_.models_dir}}),
             head=dict(decoder={{_base_.codec}},
                       loss=dict(site_weights=(1.0, 1.0, 10.0))))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters - 50, by_epoch=False,
         begin=50, end=max_iters, eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=300, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
