# Self-supervised pretraining on real LINEMOD (BOP `lm` layout): triplets of
# training-split frames of the 13 classic objects, 224 px fixed-size crops
# centred on the mask (the original's pre-processing). For GPUs.
# Training frames: GDR-Net's split files,
# <data_root>/image_set/<name>_train.txt
# (frame ids of the object's scene in lm/test); pose labels are not read.
# The background outside the object mask is replaced by a constant colour
# (MaskBackground), as on the synthetic default: neighbouring frames share
# their surroundings, a shortcut for relative-viewpoint pretraining. Drop it
# (in both pipelines) when the test crops come from box-only detections
# (MaskCenteredCrop box_source='detections'), where no mask exists.
dataset_type = 'LinemodBOPDataset'
data_root = 'data/lm'
crop_size = 224
obj_ids = [1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]
split_file = 'image_set/{name}_train.txt'

train_pipeline = [
    dict(type='LoadImageAndMask'),
    dict(type='MaskCenteredCrop', mode='center', out_size=crop_size,
         crop_size=crop_size),
    dict(type='MaskBackground'),  # see the note above
    dict(type='PhotometricAug'),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
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
            split='test',  # BOP lm ships every frame under test/
            obj_ids=obj_ids,
            split_file=split_file,
            pipeline=train_pipeline)),
)
