# Pose data of the synthetic LINEMOD default: a labelled fraction of the
# training split for training, the independent test split for the final score.
dataset_type = 'LinemodBOPDataset'
data_root = 'data/synthetic_linemod'
crop_size = 64
label_fraction = 0.1

train_pipeline = [
    dict(type='LoadImageAndMask', cache_size=1000),  # decode each frame once
    dict(
        type='MaskCenteredCrop',
        mode='zoom',
        out_size=crop_size,
        scale=1.4,
        center_jitter=0.05,
        scale_jitter=0.1),
    dict(type='PhotometricAug'),
    dict(type='PackPoseInputs'),
]
test_pipeline = [
    dict(type='LoadImageAndMask', skip_bad=False),
    dict(type='MaskCenteredCrop', mode='zoom', out_size=crop_size, scale=1.4),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        label_fraction=label_fraction,
        labelled_only=True,
        pipeline=train_pipeline),
)
test_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        test_mode=True,
        pipeline=test_pipeline),
)
test_evaluator = dict(type='ADDMetric')
