# Pose regression: ResNet18 -> two FC layers -> 6D rotation + SITE translation,
# trained with point matching, geodesic rotation and L1 SITE losses.
# ``pretrained`` is the self-supervised checkpoint the backbone starts from
# (None: from scratch); set it with --cfg-options or in a derived config.
pretrained = None
model = dict(
    type='PoseRegressor',
    data_preprocessor=dict(type='PoseDataPreprocessor'),
    backbone=dict(type='TorchvisionResNet', depth=18),
    # SITE depth measured against the object's mask area, not the crop
    # window: the window follows the box's longer side, which for an
    # elongated object swings with the viewpoint, so the depth target did
    # too (docs/results.md). depth_scale keeps tz near 1. With occlusion
    # (LM-O) the visible area shrinks: use depth_ref='crop' there.
    head=dict(type='PoseRegressionHead', rot_repr='6d', hidden_channels=256,
              depth_ref='mask_area', depth_scale=120.0),
    freeze_backbone=False,
)
