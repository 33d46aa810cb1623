# Relative-viewpoint pretraining on the 13 classic LINEMOD objects (BOP lm),
# the original's best setting: ResNet18, embedding 128, batch 128, Adam 5e-4,
# 10 epochs, 224 px. Single GPU; `bash tools/dist_train.sh CONFIG N` for more.
_base_ = [
    '../_base_/datasets/linemod_bop_ssl.py',
    '../_base_/models/ssl_r18.py',
    '../_base_/schedules/ssl_adam_10e.py',
    '../_base_/default_runtime.py',
]
default_hooks = dict(logger=dict(interval=50))
auto_scale_lr = dict(enable=False, base_batch_size=128)
