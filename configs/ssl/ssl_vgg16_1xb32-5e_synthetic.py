# As ssl_r18_1xb32-5e_synthetic.py with a VGG16-BN backbone.
_base_ = ['./ssl_r18_1xb32-5e_synthetic.py']
model = dict(backbone=dict(_delete_=True, type='TorchvisionVGG', depth=16,
                           with_bn=True))
