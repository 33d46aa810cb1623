# Self-supervised relative-viewpoint pretraining of ResNet18 on the training
# frames of the synthetic LINEMOD default (64 px crops; a CPU-sized schedule).
_base_ = [
    '../_base_/datasets/synthetic_linemod_ssl.py',
    '../_base_/models/ssl_r18.py',
    '../_base_/schedules/ssl_adam_5e.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(logger=dict(interval=10))
