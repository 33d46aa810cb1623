# Pose regression on 10 % of the LINEMOD training labels (13 objects), the
# backbone fine-tuned from ssl_r18_1xb128-10e_linemod (10x smaller lr).
_base_ = [
    '../_base_/datasets/linemod_bop_pose.py',
    '../_base_/models/pose_r18.py',
    '../_base_/schedules/pose_adamw_6000it.py',
    '../_base_/default_runtime.py',
]
pretrained = 'work_dirs/ssl_r18_1xb128-10e_linemod/epoch_10.pth'
model = dict(
    objects=dict(models_dir={{_base_.models_dir}}),
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(decoder={{_base_.codec}}))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=1000, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
