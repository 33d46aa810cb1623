# Pose data of real LINEMOD (BOP `lm`): a labelled fraction of the training
# split (GDR-Net's image_set files) for training; the test split scored once.
# 224 px fixed-size crops centred on the mask. For GPUs.
# The background outside the object mask is replaced by a constant colour
# (MaskBackground), as on the synthetic default: neighbouring frames share
# their surroundings, a shortcut for relative-viewpoint pretraining. Drop it
# (in both pipelines) when the test crops come from box-only detections
# (MaskCenteredCrop box_source='detections'), where no mask exists.
dataset_type = 'LinemodBOPDataset'
data_root = 'data/lm'
# the objects (model.objects; the metric and the pictures read the same)
models_dir = f'{data_root}/models'
crop_size = 224
label_fraction = 0.1
obj_ids = [1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]
# LINEMOD's object 4 is 'cam' here but 'camera' in GDR-Net's file names:
# give a dict {obj_id: path} where names differ
train_split_file = 'image_set/{name}_train.txt'
test_split_file = 'image_set/{name}_test.txt'
# the SITE codec of the targets and the head (see synthetic_linemod_pose.py)
codec = dict(type='SITECodec', depth_ref='mask_area', depth_scale=120.0)

train_pipeline = [
    dict(type='LoadImageAndMask'),
    dict(type='MaskCenteredCrop', mode='center', out_size=crop_size,
         crop_size=crop_size, center_jitter=0.05),
    dict(type='MaskBackground'),  # see the note above
    dict(type='PhotometricAug'),
    dict(type='GeneratePoseTarget', codec=codec),
    dict(type='PackPoseInputs'),
]
test_pipeline = [
    dict(type='LoadImageAndMask', skip_bad=False),
    dict(type='MaskCenteredCrop', mode='center', out_size=crop_size,
         crop_size=crop_size),
    dict(type='MaskBackground'),  # see the note above
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    # iteration-based schedule: an endless sampler, because MMEngine sleeps
    # 2 s at every epoch end, and a 10 % subset is only a few batches long
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        obj_ids=obj_ids,
        split_file=train_split_file,
        label_fraction=label_fraction,
        labelled_only=True,
        pipeline=train_pipeline),
)
test_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        obj_ids=obj_ids,
        split_file=test_split_file,
        test_mode=True,
        pipeline=test_pipeline),
)
test_evaluator = dict(type='ADDMetric')
