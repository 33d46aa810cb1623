# A harder pretext on the real-mesh set: InfoNCE, where each anchor must pick
# its own positive (1-3 frames away) out of the whole batch (the other
# anchors, positives and negatives: 95 candidates at batch 32), instead of the
# triplet loss that 5 epochs already satisfy (loss 0.04), and 30 epochs.
_base_ = ['./ssl_r18_1xb32-5e_realmesh.py']
model = dict(head=dict(mode='infonce', temperature=0.1))
max_epochs = 30
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
         eta_min=1e-5)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=5))
