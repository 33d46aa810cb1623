# Pose regression on 10 % of the synthetic training labels, ResNet18
# initialised from the self-supervised checkpoint and fine-tuned with a 10x
# smaller learning rate than the head. Scored once on the test split.
_base_ = [
    '../_base_/datasets/synthetic_linemod_pose.py',
    '../_base_/models/pose_r18.py',
    '../_base_/schedules/pose_adamw_600it.py',
    '../_base_/default_runtime.py',
]
pretrained = 'work_dirs/ssl_r18_1xb32-5e_synthetic/epoch_5.pth'
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
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=2))
log_processor = dict(by_epoch=False)
