# Pose regression: ResNet18 -> two FC layers -> 6D rotation + SITE translation,
# trained with point matching, geodesic rotation and L1 SITE losses.
# ``pretrained`` is the self-supervised checkpoint the backbone starts from
# (None: from scratch); set it with --cfg-options or in a derived config.
pretrained = None
model = dict(
    type='PoseRegressor',
    data_preprocessor=dict(type='PoseDataPreprocessor'),
    backbone=dict(type='TorchvisionResNet', depth=18),
    # The head decodes with the SITE codec that the data's GeneratePoseTarget
    # encodes with: `codec` of ../datasets/*_pose.py, which a config hands
    # the head as decoder={{_base_.codec}}.
    head=dict(type='PoseRegressionHead', rot_repr='6d', hidden_channels=256,
              loss=dict(type='PoseLoss')),
    freeze_backbone=False,
)
