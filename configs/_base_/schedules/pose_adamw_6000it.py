# GPU pose schedule: AdamW 1e-3, warm-up then cosine decay over 6,000 steps.
_base_ = ['./pose_adamw_600it.py']
max_iters = 6000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=300),
    dict(type='CosineAnnealingLR', T_max=max_iters - 300, by_epoch=False,
         begin=300, end=max_iters, eta_min=1e-6),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
