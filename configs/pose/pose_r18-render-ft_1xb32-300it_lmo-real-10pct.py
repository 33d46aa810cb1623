# A few real labels: the render-trained model (pose_r18-render_1xb32-1200it_
# lmo-real.py) fine-tuned for 300 iterations on its renders mixed with the
# labelled real frames of the training pool (10 %: about 5 frames per
# object; the label fraction is one line), scored on the real test frames.
# The labelled photographs are repeated so that they fill a share of each
# batch (40 x 10 frames against 2,400 renders: about one crop in seven).
_base_ = ['./pose_r18-render_1xb32-1200it_lmo-real.py']
load_from = 'work_dirs/pose_r18-render_1xb32-1200it_lmo-real/iter_1200.pth'
label_fraction = 0.1
real_pool = dict(
    type='LinemodBOPDataset', data_root='data/lmo_real', split='test',
    scene_ids=[2], obj_ids=[1, 9], subset='train', train_ratio=0.5,
    mask_type='amodal', label_fraction=label_fraction, labelled_only=True,
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(dataset=dict(
    _delete_=True,
    type='ConcatDataset',
    # the real pool first: tools/pseudo_label.py labels the first dataset
    datasets=[dict(type='RepeatDataset', times=40, dataset=real_pool),
              {{_base_.render_train_set}}],
    # the two sets describe the same objects; names, point samples and the
    # folders they are read from differ
    ignore_keys=['dataset_name', 'model_points', 'models_dir']))
max_iters = 300
optim_wrapper = dict(optimizer=dict(lr=3e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, by_epoch=False,
         begin=0, end=max_iters, eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=100))
