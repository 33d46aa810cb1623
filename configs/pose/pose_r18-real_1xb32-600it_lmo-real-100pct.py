# For scale: the pose model trained from scratch on the labelled real frames
# of the training pool alone (no renders; 100 %: all 47 per object), scored
# on the real test frames like the render-trained models.
_base_ = ['./pose_r18-render_1xb32-1200it_lmo-real.py']
label_fraction = 1.0
max_iters = 600
train_dataloader = dict(dataset=dict(
    _delete_=True, type='LinemodBOPDataset', data_root='data/lmo_real',
    split='test', scene_ids=[2], obj_ids=[1, 9], subset='train',
    train_ratio=0.5, mask_type='amodal', label_fraction=label_fraction,
    labelled_only=True, pipeline={{_base_.train_pipeline}}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters - 50, by_epoch=False,
         begin=50, end=max_iters, eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
