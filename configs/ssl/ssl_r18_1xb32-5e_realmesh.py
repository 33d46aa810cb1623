# Self-supervised relative-viewpoint pretraining of ResNet18 on the training
# frames of the real-mesh set (the real LINEMOD ape and duck rendered over
# real LINEMOD-Occluded photographs; how to generate it: the realmesh pose
# configs). 64 px crops, a CPU-sized schedule, no pose label used.
_base_ = ['./ssl_r18_1xb32-5e_synthetic.py']
train_dataloader = dict(
    dataset=dict(dataset=dict(data_root='data/realmesh_lmo')))
