# The real-mesh 10 % model (pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py)
# with its depth refined at test time from the object's mask: each predicted
# translation slides along its ray until the mesh's silhouette at the
# predicted rotation covers the mask's pixel count (SilhouetteDepthRefiner;
# the mask is the one the crop is placed with, and the mesh is the object
# model of the data set). Training is unchanged, so a trained ssl-ft
# checkpoint is tested with it directly:
#   python tools/test.py \
#       configs/pose/pose_r18-ssl-ft-sil_1xb32-600it_realmesh-10pct.py \
#       work_dirs/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct/iter_600.pth
# The mask must be the whole silhouette (no occluder in front of the
# object): the visible part of an occluded object is smaller and its depth
# would come out too far. Results: docs/results.md.
_base_ = ['./pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py']
# the meshes are those of model.objects' models_dir
model = dict(refiner=dict(type='SilhouetteDepthRefiner'))
