# Runtime shared by every posessl config: scope, hooks, logging, checkpoints,
# visualiser backends, seeds and the distributed set-up.
default_scope = 'posessl'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # keep the last checkpoint (for --resume) and, where a validation metric
    # exists, the best one; configs with a metric set save_best to its key
    # written atomically (temporary file, then rename): a kill during a save
    # never leaves a checkpoint that looks finished
    checkpoint=dict(
        type='CheckpointHook',
        interval=1,
        max_keep_ckpts=2,
        save_last=True,
        backend_args=dict(backend='posessl_atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

# LogTestMetricsHook sends test metrics to every visualiser backend,
# BopTimeHook marks each test step's start for ADDMetric (the BOP CSV's time
# column), SkippedSamplesHook totals the training samples skipped as
# unreadable (tools/train.py reports them); the last three (which the tools
# add to any config that lacks them) stop training at a non-finite loss
# before anything is saved, refuse a checkpoint whose weights are not the
# model's, and save the current iteration on Ctrl-C
custom_hooks = [
    dict(type='LogTestMetricsHook'),
    dict(type='BopTimeHook'),
    dict(type='SkippedSamplesHook'),
    dict(type='NonFiniteLossHook'),
    dict(type='CheckpointMatchHook'),
    dict(type='InterruptHook'),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches this to gloo on machines without CUDA
    dist_cfg=dict(backend='nccl'),
)

# drops device_ids for CPU modules so torchrun works with gloo as well
# (scoped name: the Runner looks wrappers up in MMEngine's root registry)
model_wrapper_cfg = dict(type='posessl.DeviceAwareDistributedDataParallel')

vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(type='LogProcessor', window_size=10, by_epoch=True)
log_level = 'INFO'

load_from = None
resume = False
# True when load_from holds only part of the model on purpose (otherwise a
# mismatching checkpoint stops with one line; a backbone-only
# init_cfg=dict(type='Pretrained') is not affected)
load_partial = False
randomness = dict(seed=0, deterministic=False)
