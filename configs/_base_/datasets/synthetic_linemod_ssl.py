# Self-supervised pretraining data: triplets of training-split frames of the
# synthetic LINEMOD default (no pose labels used), 64 px crops for the CPU.
# The background outside the object mask is replaced by a constant colour
# (MaskBackground): the mask is free, and the background is a shortcut. In
# the video the surroundings of neighbouring frames look alike whatever the
# object does, so relative-viewpoint pretraining learns the room instead of
# the object, and the pose head learns where the room is, which fails on a
# test recording (measured on the synthetic default, see docs/results.md).
dataset_type = 'LinemodBOPDataset'
data_root = 'data/synthetic_linemod'
crop_size = 64

train_pipeline = [
    dict(type='LoadImageAndMask', cache_size=1000),  # decode each frame once
    dict(
        type='MaskCenteredCrop',
        mode='zoom',
        out_size=crop_size,
        scale=1.4,
        center_jitter=0.05,
        scale_jitter=0.1),
    dict(type='MaskBackground'),  # see the note above
    dict(type='PhotometricAug'),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=32,
    # on a 2-core CPU, loader workers fight torch's threads for the cores
    # (measured: 1.2 s/iter with 2 workers, see the README); decoded frames
    # are cached, so the main process loads the data itself
    num_workers=0,
    persistent_workers=False,
    sampler=dict(
        type='TripletSampler',
        shuffle=True,
        pos_range=(1, 3),
        neg_min_distance=20),
    dataset=dict(
        type='TripletDataset',
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            split='train',
            pipeline=train_pipeline)),
)
