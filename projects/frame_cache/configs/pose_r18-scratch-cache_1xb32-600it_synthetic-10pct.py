# The CPU default (synthetic set, 10 % labels, from scratch) with its
# training crops read from FrameCacheDataset's memory-mapped cache: every
# frame decoded and cropped once, the crop jitter applied on top. Same data,
# pipeline and schedule as the core config; the pixels differ from a direct
# crop by one more bilinear resampling. Accuracy not compared yet
# (projects/frame_cache/README.md).
_base_ = [
    '../../../configs/pose/pose_r18-scratch_1xb32-600it_synthetic-10pct.py'
]
custom_imports = dict(
    imports=['projects.frame_cache.frame_cache'], allow_failed_imports=False)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='FrameCacheDataset',
        cache_dir='data/frame_cache',
        dataset={{_base_.train_dataloader.dataset}}))
