# Pose regression on 10 % of the real-mesh set's labels (30 frames per
# object), ResNet18 from the self-supervised checkpoint of
# ssl_r18_1xb32-5e_realmesh.py. The real-mesh set is the real LINEMOD ape and
# duck (the shared sample's BOP models with their own vertex colours)
# rendered along hand-held paths over real LINEMOD-Occluded photographs,
# LINEMOD's split protocol, 300 training + 100 test frames per object:
#   python tools/make_synthetic_linemod.py data/realmesh_lmo \
#       --models-dir ../shared/data/lmo_sample/models \
#       --backgrounds-dir ../shared/data/lmo_sample/test/000002/rgb
# (benchmarks/label_efficiency.py generates it when the folder is missing).
_base_ = ['./pose_r18-ssl-ft_1xb32-600it_synthetic-10pct.py']
data_root = 'data/realmesh_lmo'
train_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = dict(dataset=dict(data_root=data_root))
pretrained = 'work_dirs/ssl_r18_1xb32-5e_realmesh/epoch_5.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=pretrained)))
