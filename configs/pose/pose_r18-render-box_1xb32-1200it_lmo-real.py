# Zero real labels, crops placed by a box alone (a detector's, or BOP's
# bbox_visib): the render model of pose_r18-render_1xb32-1200it_lmo-real.py
# without the mask's help. The renders keep their procedural clutter around
# the object (no MaskBackground), and the depth is read against the crop
# window, since there is no mask area to measure it by.
_base_ = ['./pose_r18-render_1xb32-1200it_lmo-real.py']
codec = dict(type='SITECodec', depth_ref='crop', depth_scale=120.0)
model = dict(head=dict(decoder=codec))
train_pipeline = [
    dict(type='LoadImageAndMask', cache_size=2400),
    dict(type='MaskCenteredCrop', mode='zoom', out_size=64, scale=1.4,
         center_jitter=0.05, scale_jitter=0.1),
    {{_base_.strong_jitter}},
    dict(type='GeneratePoseTarget', codec=codec),
    dict(type='PackPoseInputs'),
]
test_pipeline = [
    dict(type='LoadImageAndMask', skip_bad=False),
    dict(type='MaskCenteredCrop', mode='zoom', out_size=64, scale=1.4),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
test_dataloader = dict(
    dataset=dict(mask_type='box', pipeline=test_pipeline))
