# ResNet50 variant (pretrain it with ssl_r18 config plus backbone depth=50).
_base_ = ['./pose_r18-ssl-ft_1xb64-6000it_linemod-10pct.py']
pretrained = 'work_dirs/ssl_r50_1xb128-10e_linemod/epoch_10.pth'
model = dict(backbone=dict(depth=50, init_cfg=dict(checkpoint=pretrained)))
