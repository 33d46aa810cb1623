# As ssl_r18_1xb32-5e_synthetic.py with a ResNet50 backbone.
_base_ = ['./ssl_r18_1xb32-5e_synthetic.py']
model = dict(backbone=dict(depth=50))
