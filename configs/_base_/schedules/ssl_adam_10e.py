# The original's best pretraining setting: 10 epochs, Adam, lr 5e-4.
_base_ = ['./ssl_adam_5e.py']
max_epochs = 10
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
         eta_min=1e-5)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
