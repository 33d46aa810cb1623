# The real-mesh 10 % model (pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py)
# fine-tuned with the relative-viewpoint loss kept as an auxiliary term:
# every batch is 32 triplets of the whole training split (labelled and
# unlabelled frames) whose anchors are the labelled frames; the pose losses
# take the anchors, InfoNCE (weight 0.1) the 96 crops. The projection neck
# starts from the backbone's pretraining checkpoint. A step costs about
# three pose steps. Measured: projects/view_finetune/README.md.
_base_ = [
    '../../../configs/pose/pose_r18-ssl-ft_1xb32-600it_realmesh-10pct.py'
]
custom_imports = dict(
    imports=['projects.view_finetune.view_finetune'],
    allow_failed_imports=False)
pretrained = 'work_dirs/ssl_r18_1xb32-5e_realmesh/epoch_5.pth'
model = dict(
    type='SemiSupervisedPoseRegressor',
    neck=dict(
        type='ProjectionNeck', out_channels=128, hidden_channels=512,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained,
                      prefix='neck.')),
    view_head=dict(type='CosineContrastiveHead', mode='infonce',
                   temperature=0.1, loss_weight=0.1))
train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        type='LabelledAnchorTripletSampler',
        labelled_anchor_share=1.0,  # 0.5 fitted slower and scored lower
        shuffle=True,
        pos_range=(1, 3),
        neg_min_distance=20,
        infinite=True),  # iteration schedule: no pause at epoch ends
    dataset=dict(
        _delete_=True,
        type='TripletDataset',
        dataset=dict(
            type='LinemodBOPDataset',
            data_root='data/realmesh_lmo',
            split='train',
            label_fraction=0.1,
            labelled_only=False,  # the unlabelled frames are the point
            pipeline={{_base_.train_pipeline}})))
