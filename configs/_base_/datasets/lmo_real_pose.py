# Pose on real photographs: train on renders of the object models, score on
# the real LINEMOD-Occluded frames (the ape and duck of scene 2).
#   * Training: renders with a new light, material, exposure and noise level
#     every frame (--lighting random), no photograph behind them:
#       python tools/make_synthetic_linemod.py data/render_lmo \
#           --models-dir data/lmo_real/models --lighting random \
#           --train-frames 1200 --test-frames 0 --test-recording new
#   * Test: the real frames of data/lmo_real (a BOP `lmo` folder: the
#     shared sample, or the full LM-O test set) split by the deterministic
#     interleaved rule (subset, train_ratio 0.5: every other image of the
#     recording is a test image, the others the training pool that the
#     few-label and self-training configs use; an image is wholly one or
#     the other).
# The crop and the background fill come from the amodal mask (the whole
# silhouette: `mask`); `mask_type='visib'` scores with the visible mask and
# `'box'` with `bbox_visib` only (docs/results.md).
dataset_type = 'LinemodBOPDataset'
render_root = 'data/render_lmo'
real_root = 'data/lmo_real'
# the objects (model.objects, the metric, the pictures); the renders' models
# are copies of these
models_dir = f'{real_root}/models'
obj_ids = [1, 9]
crop_size = 64
real_split = dict(split='test', scene_ids=[2], obj_ids=obj_ids,
                  train_ratio=0.5)
# the SITE codec of the targets and the head (see synthetic_linemod_pose.py);
# the crops come from the amodal mask, whose area is the depth reference
codec = dict(type='SITECodec', depth_ref='mask_area', depth_scale=120.0)

# real photographs are softer, noisier and differently coloured than the
# renders: jitter every crop (docs/results.md measures each part)
strong_jitter = dict(type='PhotometricAug', color_prob=1.0, brightness=0.3,
                     contrast=0.3, saturation=0.4, hue=0.04, noise_prob=0.5,
                     noise_std=(0.0, 8.0), blur_prob=0.7,
                     blur_sigma=(0.3, 1.5))
train_pipeline = [
    dict(type='LoadImageAndMask', cache_size=2400),
    dict(type='MaskCenteredCrop', mode='zoom', out_size=crop_size,
         scale=1.4, center_jitter=0.05, scale_jitter=0.1),
    dict(type='MaskBackground'),
    strong_jitter,
    dict(type='GeneratePoseTarget', codec=codec),
    dict(type='PackPoseInputs'),
]
test_pipeline = [
    dict(type='LoadImageAndMask', skip_bad=False),
    dict(type='MaskCenteredCrop', mode='zoom', out_size=crop_size,
         scale=1.4),
    dict(type='MaskBackground'),
    dict(type='PackPoseInputs'),
]
render_train_set = dict(type=dataset_type, data_root=render_root,
                        split='train', obj_ids=obj_ids,
                        pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=32,
    num_workers=0,  # 2-core CPU: the main process loads (cached frames)
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=render_train_set)
test_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=real_root, subset='test',
                 mask_type='amodal', test_mode=True, pipeline=test_pipeline,
                 **real_split))
test_evaluator = dict(type='ADDMetric')
