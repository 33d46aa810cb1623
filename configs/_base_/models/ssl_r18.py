# Relative-viewpoint pretraining: ResNet18 -> 128-d embedding -> cosine
# triplet loss relu(cos(a, n) - cos(a, p) + margin).
model = dict(
    type='ContrastivePretrainer',
    data_preprocessor=dict(type='PoseDataPreprocessor'),
    backbone=dict(type='TorchvisionResNet', depth=18),
    neck=dict(type='ProjectionNeck', out_channels=128, hidden_channels=512),
    head=dict(type='CosineContrastiveHead', mode='triplet', margin=0.5),
)
