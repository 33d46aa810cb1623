# As pose_r18-ssl-ft_1xb64-6000it_linemod-10pct.py on ape alone, from the
# ape-only pretraining.
_base_ = ['./pose_r18-ssl-ft_1xb64-6000it_linemod-10pct.py']
pretrained = 'work_dirs/ssl_r18_1xb128-10e_linemod-ape/epoch_10.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=pretrained)))
train_dataloader = dict(dataset=dict(obj_ids=[1]))
test_dataloader = dict(dataset=dict(obj_ids=[1]))
