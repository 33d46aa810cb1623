# As ssl_r18_1xb128-10e_linemod.py with a ResNet50 backbone.
_base_ = ['./ssl_r18_1xb128-10e_linemod.py']
model = dict(backbone=dict(depth=50))
