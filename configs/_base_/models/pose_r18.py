# Pose regression: ResNet18 -> two FC layers -> 6D rotation + SITE translation,
# trained with point matching, geodesic rotation and L1 SITE losses.
# ``pretrained`` is the self-supervised checkpoint the backbone starts from
# (None: from scratch); set it with --cfg-options or in a derived config.
pretrained = None
model = dict(
    type='PoseRegressor',
    data_preprocessor=dict(type='PoseDataPreprocessor'),
    backbone=dict(type='TorchvisionResNet', depth=18),
    head=dict(type='PoseRegressionHead', rot_repr='6d', hidden_channels=256),
    freeze_backbone=False,
)
