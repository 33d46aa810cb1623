# The relative-viewpoint fine-tuned real-mesh model
# (pose_r18-ssl-ft-view_1xb32-600it_realmesh-10pct.py) with its depth refined
# at test time from the object's mask, as the core's
# configs/pose/pose_r18-ssl-ft-sil_1xb32-600it_realmesh-10pct.py explains.
_base_ = ['./pose_r18-ssl-ft-view_1xb32-600it_realmesh-10pct.py']
# the meshes are those of model.objects' models_dir
model = dict(refiner=dict(type='SilhouetteDepthRefiner'))
