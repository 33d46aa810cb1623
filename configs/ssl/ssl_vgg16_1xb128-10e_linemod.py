# As ssl_r18_1xb128-10e_linemod.py with a VGG16-BN backbone.
_base_ = ['./ssl_r18_1xb128-10e_linemod.py']
model = dict(backbone=dict(_delete_=True, type='TorchvisionVGG', depth=16,
                           with_bn=True))
