"""Training and inference speed of the pose model, and posessl's overhead.

The model is the one ``configs/_base_/models/pose_r18.py`` describes
(``PoseRegressor``: ``TorchvisionResNet(depth=18)`` + ``PoseRegressionHead``,
``PoseDataPreprocessor``), built through ``posessl.registry.MODELS``, with
the optimizer of ``configs/_base_/schedules/pose_adamw_600it.py`` (AdamW).
For each crop size the script times, on the same model and the same
in-memory batches, in the same run:

* **posessl / MMEngine**: ``model.train_step(data, optim_wrapper)`` with an
  ``mmengine.optim.OptimWrapper`` and, for inference,
  ``model.test_step(data)`` under ``torch.no_grad()``: what the Runner's
  train and test loops call each iteration (data preprocessor with its
  per-sample device transfer, loss parsing, optimizer wrapper, and at test
  time the decoding of ``R`` and ``t`` into the data samples);
* **plain PyTorch**: stack the crops, copy them to the device, normalise,
  ``model.extract_feat`` and the head's loss maths on labels stacked into
  tensors once (:func:`tensor_maths`: the same functions, no data
  samples), ``backward``, ``optimizer.step``; for inference the same
  normalisation and a forward to the head's raw outputs under
  ``torch.no_grad()``.

First, the **host overhead** of posessl's data path: on fixed features, the
time per batch (32 and 256 by default) of the data preprocessor + the
head's loss + its decoding on data samples, against the tensor maths alone,
and their ratio (``--overhead-only`` stops there).

``overhead`` is the posessl step time divided by the plain step time
(1.00 = no overhead). On CUDA the variants ``cl-input`` (the preprocessor's
default: channels-last inputs only), ``cl`` (channels-last inputs and
weights), ``amp`` (``AmpOptimWrapper``, bfloat16 where supported, else
float16; ``autocast`` at test time) and ``amp+cl`` are timed too; on a CPU
``cl`` and, where it runs bfloat16 natively, ``amp``
(``BF16AutocastOptimWrapper``, what ``tools/train.py --amp`` uses there)
and ``amp+cl``; and
``t/t_fp32`` is each variant's posessl step time divided by that of the
float32 contiguous (NCHW) model. All ratios are time ratios: below 1 is
faster.

Batches are built once, as ``PackPoseInputs`` and ``pseudo_collate`` hand
them to the model: ``{'inputs': [uint8 (3, S, S)] * B, 'data_samples':
[PoseDataSample] * B}``, with random pixels, random poses and their crop
metadata (:func:`crop_sample`; one crop in four shows the symmetric
object); the model is built with random point clouds (fixed seeds) as
its ``objects``. Each figure is the median of
``--repeats`` timed runs of ``--iters`` steps after ``--warmup`` steps; the
two loops alternate which one runs first. Without ``--iters`` each setting
gets as many steps per repeat as fit its share of ``--budget`` seconds
(judged by the warm-up steps; at least one), so the run takes about the
same time on a slow CPU and on a GPU. ``--runner`` also times a whole
``Runner.train()`` (float32 model) on an in-memory dataset with the hooks
of ``configs/_base_/default_runtime.py`` (no checkpoints), so the
dataloader, hooks and logging are included.

Example::

    python benchmarks/throughput.py          # about 3 min on an idle CPU
    python benchmarks/throughput.py --sizes 64 --iters 2 --warmup 1
    python benchmarks/throughput.py --device cuda --runner --out speed.json
"""
import argparse
import contextlib
import copy
import json
import os
import platform
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_CONFIG = os.path.join(REPO_ROOT, 'configs', '_base_', 'models',
                            'pose_r18.py')
SCHEDULE_CONFIG = os.path.join(REPO_ROOT, 'configs', '_base_', 'schedules',
                               'pose_adamw_600it.py')
RUNTIME_CONFIG = os.path.join(REPO_ROOT, 'configs', '_base_',
                              'default_runtime.py')
#: The SITE codec of the pipeline's targets and the head's decoder.
CODEC = dict(type='SITECodec', depth_ref='mask_area', depth_scale=120.0)

#: Timed settings: AMP, channels-last inputs, channels-last weights.
VARIANTS = {
    'fp32': (False, False, False),
    'cl-input': (False, True, False),
    'cl': (False, True, True),
    'amp': (True, False, False),
    'amp+cl': (True, True, True),
}
#: Distinct batches cycled through by every loop.
NUM_BATCHES = 4
#: Most steps per repeat that ``--budget`` may choose.
MAX_AUTO_ITERS = 100
#: Share of a setting's budget for training (the rest: inference).
TRAIN_SHARE = 0.75

Batch = Dict[str, list]
Step = Callable[[Batch], Any]


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[64, 112, 224], help='crop sizes (px)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--iters', type=int, default=None,
                        help='timed steps per repeat (default: as many as '
                        'fit --budget, at least 1)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='untimed steps of each loop before timing '
                        '(default: 1 on the CPU, 10 on CUDA)')
    parser.add_argument('--budget', type=float, default=150.0,
                        help='seconds of timed steps in all (sizes x '
                        'variants, 3/4 training); sets the steps per '
                        'repeat unless --iters is given. Warm-up, model '
                        'building and --runner come on top')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed repeats; the median is reported')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='default: cuda when available')
    parser.add_argument('--variants', nargs='+', choices=list(VARIANTS),
                        default=None,
                        help='default: fp32 on the CPU, all on CUDA')
    parser.add_argument('--runner', action='store_true',
                        help='also time Runner.train() on an in-memory '
                        'dataset (dataloader and hook overhead)')
    parser.add_argument('--runner-iters', type=int, default=None,
                        help='Runner iterations (default: warmup + '
                        'repeats x iters); the first warmup ones are not '
                        'timed')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: as torch sets them)')
    parser.add_argument('--overhead-batches', type=int, nargs='*',
                        default=[32, 256],
                        help='batch sizes of the host-overhead measure '
                        '(preprocessor + head loss + decode against the '
                        'tensor maths alone, 64 px; none: skip it)')
    parser.add_argument('--overhead-only', action='store_true',
                        help='only the host-overhead measure')
    parser.add_argument('--out', type=str, default=None,
                        help='also write the figures to this JSON file')
    args = parser.parse_args()
    if args.batch_size < 1 or args.repeats < 1:
        parser.error('--batch-size and --repeats must be positive')
    for name in ('iters', 'runner_iters', 'threads'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if not args.budget > 0:
        parser.error('--budget must be positive')
    if args.warmup is not None and args.warmup < 0:
        parser.error('--warmup must not be negative')
    if args.iters is None and args.warmup == 0:
        parser.error('--warmup 0 needs --iters (the warm-up steps are '
                     'what --budget judges the step time by)')
    return args


# --------------------------------------------------------------- machine
def cpu_model() -> str:
    """The CPU's marketing name, where the system tells it."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def machine_info(device: torch.device) -> Dict[str, Any]:
    """What the figures were measured on."""
    import mmengine
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info: Dict[str, Any] = dict(
        device=device.type,
        cpu=cpu_model(),
        cpu_cores=os.cpu_count(),
        cpu_cores_usable=usable,
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        mmengine=mmengine.__version__,
        python=platform.python_version())
    if hasattr(os, 'getloadavg'):
        info['load_average_1min'] = round(os.getloadavg()[0], 2)
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        info.update(
            gpu=torch.cuda.get_device_name(device),
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            gpu_capability=f'{props.major}.{props.minor}',
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            cudnn_benchmark=torch.backends.cudnn.benchmark,
            cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
            matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
            bf16_supported=torch.cuda.is_bf16_supported())
    return info


def print_machine(info: Dict[str, Any]) -> None:
    """One or two lines about the machine."""
    print(f"torch {info['torch']}, mmengine {info['mmengine']}, python "
          f"{info['python']}")
    print(f"CPU: {info['cpu']}, {info['cpu_cores']} cores "
          f"({info['cpu_cores_usable']} usable), torch threads "
          f"{info['torch_threads']}, load average (1 min) "
          f"{info.get('load_average_1min', '?')}")
    if info['device'] == 'cuda':
        print(f"GPU: {info['gpu']} ({info['gpu_memory_gib']} GiB, sm "
              f"{info['gpu_capability']}), CUDA {info['cuda']}, cuDNN "
              f"{info['cudnn']}, cudnn.benchmark "
              f"{info['cudnn_benchmark']}, TF32 conv "
              f"{info['cudnn_allow_tf32']} / matmul "
              f"{info['matmul_allow_tf32']}")
    load = info.get('load_average_1min')
    if load is not None and load > 0.5 * info['cpu_cores_usable']:
        print(f'note: the machine is busy (load {load}); figures are '
              'lower and noisier than on an idle machine (where other '
              'jobs hold the cores, --threads 1 may even be faster)')


# ------------------------------------------------------------ model, data
#: The LINEMOD camera.
CAM_K = np.array([[572.4114, 0.0, 325.2611], [0.0, 573.57043, 242.04899],
                  [0.0, 0.0, 1.0]])
#: An asymmetric (1) and a symmetric (2) object, mm.
DIAMETERS = {1: 102.0, 2: 120.0}


def object_points(obj_id: int, n: int = 500) -> np.ndarray:
    """A 60 x 40 x 30 mm box of points (1), or a cloud symmetric under a
    180-degree turn about z (2); fixed seeds."""
    rng = np.random.default_rng(obj_id)
    if obj_id == 1:
        return (rng.uniform(-0.5, 0.5, (n, 3)) *
                np.array([60.0, 40.0, 30.0])).astype(np.float32)
    half = rng.uniform(-40, 40, (n // 2, 3))
    return np.concatenate([half, half * [-1.0, -1.0, 1.0]]).astype(
        np.float32)


def model_meta() -> dict:
    """Dataset metainfo, the model's ``objects``."""
    return dict(dataset_name='throughput', obj_ids=(1, 2),
                classes=('obj_01', 'obj_02'),
                model_points={i: object_points(i) for i in DIAMETERS},
                diameters=dict(DIAMETERS), symmetric_obj_ids=(2, ))


def crop_sample(index: int, size: int, obj_id: int):
    """A ``PoseDataSample`` as ``PackPoseInputs`` packs it: a random pose
    and the 'zoom'-mode crop around it (1.5 diameters), mask area set."""
    from posessl.geometry import crop_camera_matrix
    from posessl.geometry.rotation import axis_angle_to_matrix
    from posessl.structures import PoseDataSample
    rng = np.random.default_rng(index)
    t = np.array([rng.uniform(-150, 150), rng.uniform(-100, 100),
                  rng.uniform(600, 1200)])
    o = CAM_K @ t
    center = o[:2] / o[2] + rng.uniform(-5, 5, 2)
    crop = 1.5 * DIAMETERS[obj_id] * CAM_K[0, 0] / t[2]
    zoom = size / crop
    x0, y0 = center - (size - 1) / (2 * zoom)
    side = crop / 1.5
    sample = PoseDataSample(metainfo=dict(
        img_path=f'throughput/{index:06d}.png', scene_id=1, im_id=index,
        ori_shape=(480, 640), img_shape=(size, size),
        bbox=[center[0] - side / 2, center[1] - side / 2, side, side],
        crop_center=tuple(center), crop_size=crop, zoom=zoom))
    sample.obj_id = obj_id
    sample.has_pose = True
    sample.cam_K = CAM_K
    sample.crop_K = crop_camera_matrix(CAM_K, x0, y0, zoom)
    sample.mask_area = 0.4 * side * side
    sample.gt_R = axis_angle_to_matrix(
        torch.as_tensor(rng.normal(size=3), dtype=torch.float32))
    sample.gt_t = t
    from posessl.registry import CODECS
    sample.gt_site = CODECS.build(CODEC).encode(
        t, sample.crop_K.numpy(), (size, size), CAM_K,
        float(sample.mask_area))['gt_site']
    return sample


def make_batches(size: int, batch_size: int, count: int) -> List[Batch]:
    """``count`` batches as the data pipeline hands them to the model."""
    generator = torch.Generator().manual_seed(size)
    batches = []
    for b in range(count):
        inputs = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8,
                                generator=generator)
                  for _ in range(batch_size)]
        samples = [crop_sample(b * batch_size + i, size,
                               2 if i % 4 == 3 else 1)
                   for i in range(batch_size)]
        batches.append(dict(inputs=inputs, data_samples=samples))
    return batches


def batch_tensors(model, batch: Batch, device: torch.device) -> dict:
    """The batch's labels and object information as stacked tensors on
    ``device`` (built once, outside the timed loops)."""
    from posessl.structures import stack_field
    samples = batch['data_samples']
    head = model.head
    out = {k: stack_field(samples, k).to(device) for k in
           ('crop_K', 'cam_K', 'mask_area', 'gt_R', 'gt_t', 'gt_site',
            'has_pose')}
    out['crop_K'], out['cam_K'] = out['crop_K'].float(), out['cam_K'].float()
    rows = head.objects.rows(stack_field(samples, 'obj_id')).to(device)
    out.update(points=head.obj_points[rows],
               diameters=head.obj_diameters[rows],
               symmetric=head.obj_symmetric[rows])
    return out


def tensor_maths(head, feats: torch.Tensor, x: dict, out_size,
                 train: bool = True) -> Any:
    """The head's losses (``train``) or decoded poses from stacked tensors:
    the same maths as ``PoseRegressionHead.loss`` / ``decode``, with no data
    samples."""
    from posessl.geometry import (
        crop_center_ray,
        ray_rotation,
        rot6d_to_matrix,
        site_decode,
    )
    from posessl.models.losses import geodesic_loss, point_matching_loss
    rot, site = head(feats)
    crop_K = x['crop_K']
    R = ray_rotation(crop_center_ray(crop_K, out_size)) @ rot6d_to_matrix(
        rot.float())
    ref = None
    codec = head.decoder
    if codec.depth_ref == 'mask_area':
        cam_K = x['cam_K']
        ref = x['mask_area'].sqrt() * torch.sqrt(
            crop_K[:, 0, 0] * crop_K[:, 1, 1] /
            (cam_K[:, 0, 0] * cam_K[:, 1, 1]))
    t = site_decode(site.float(), crop_K, out_size, codec.depth_scale, ref)
    if not train:
        return R, t
    w = x['has_pose'].float()
    pm = point_matching_loss(R, x['gt_R'], x['points'], scale=x['diameters'],
                             symmetric=x['symmetric'])
    plain = w * ~x['symmetric']
    rot_l = (geodesic_loss(R, x['gt_R']) * plain).sum() / plain.sum()
    site_l = ((site.float() - x['gt_site']).abs() *
              head.loss_module.site_weights).sum(-1)
    return ((pm * w).sum() + (site_l * w).sum()) / w.sum() + rot_l


def load_configs() -> Tuple[dict, dict, Any]:
    """The model and optimizer-wrapper configs, and the runtime config."""
    from mmengine.config import Config
    model_cfg = Config.fromfile(MODEL_CONFIG).model.to_dict()
    model_cfg['head']['decoder'] = dict(CODEC)
    schedule = Config.fromfile(SCHEDULE_CONFIG)
    return model_cfg, schedule.optim_wrapper.to_dict(), schedule


def build_model(model_cfg: dict, device: torch.device,
                channels_last_inputs: bool, channels_last_weights: bool):
    """A fresh pose model (same seed, so the same weights every time)."""
    import posessl  # noqa: F401  (registers the components)
    from posessl.registry import MODELS
    cfg = copy.deepcopy(model_cfg)
    preprocessor = dict(cfg.get('data_preprocessor') or
                        dict(type='PoseDataPreprocessor'))
    preprocessor['channels_last'] = channels_last_inputs
    cfg['data_preprocessor'] = preprocessor
    cfg['objects'] = model_meta()
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.to(device)
    if channels_last_weights:
        model.to(memory_format=torch.channels_last)
    return model


def amp_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 where the GPU supports it, else float16; bfloat16 on the
    CPU (``BF16AutocastOptimWrapper``)."""
    from posessl.engine.runner_setup import amp_dtype_name
    if device.type == 'cuda':
        return getattr(torch, amp_dtype_name())
    return torch.bfloat16


# ----------------------------------------------------------------- steps
def plain_inputs(batch: Batch, device: torch.device, mean: torch.Tensor,
                 std: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """Stack, copy to the device, float, normalise."""
    x = torch.stack(batch['inputs']).to(device).float()
    x = (x - mean) / std
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def make_steps(model, optim_cfg: dict, device: torch.device, amp: bool,
               channels_last: bool) -> Dict[str, Step]:
    """The four step functions of one model: posessl and plain, train and
    inference."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner.amp import autocast

    dtype = amp_dtype(device)
    optim_cfg = copy.deepcopy(optim_cfg)
    if amp and device.type == 'cuda':
        optim_cfg['type'] = 'AmpOptimWrapper'
        optim_cfg['dtype'] = str(dtype).split('.')[-1]
    elif amp:  # what tools/train.py --amp picks on a CPU
        optim_cfg['type'] = 'posessl.BF16AutocastOptimWrapper'
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    # the same optimizer, built by hand for the plain loop
    opt_cfg = dict(optim_cfg['optimizer'])
    optimizer = getattr(torch.optim, opt_cfg.pop('type'))(
        model.parameters(), **opt_cfg)
    scaler = (torch.amp.GradScaler(device.type)
              if amp and dtype == torch.float16 else None)
    mean = model.data_preprocessor.mean
    std = model.data_preprocessor.std

    def plain_autocast():
        if amp:
            return torch.autocast(device_type=device.type, dtype=dtype)
        return contextlib.nullcontext()

    def test_autocast():
        # what TestLoop(fp16=True) does, with the training dtype
        if amp:
            return autocast(device_type=device.type, dtype=dtype)
        return contextlib.nullcontext()

    def posessl_train(batch: Batch) -> Any:
        return model.train_step(batch, optim_wrapper)

    tensors = {}  # labels stacked on the device once per batch

    def plain_train(batch: Batch) -> Any:
        x = plain_inputs(batch, device, mean, std, channels_last)
        key = id(batch)
        if key not in tensors:
            tensors[key] = batch_tensors(model, batch, device)
        with plain_autocast():
            loss = tensor_maths(model.head, model.extract_feat(x),
                                tensors[key], x.shape[-2:])
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    def posessl_infer(batch: Batch) -> Any:
        with torch.no_grad(), test_autocast():
            return model.test_step(batch)

    def plain_infer(batch: Batch) -> Any:
        with torch.no_grad(), plain_autocast():
            x = plain_inputs(batch, device, mean, std, channels_last)
            return model.head(model.extract_feat(x))

    return dict(posessl_train=posessl_train, plain_train=plain_train,
                posessl_infer=posessl_infer, plain_infer=plain_infer)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work before the clock is read."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_pair(first: Step, second: Step, batches: Sequence[Batch],
              iters: Optional[int], warmup: int, repeats: int,
              device: torch.device, budget: float
              ) -> Tuple[List[float], List[float], int]:
    """Seconds per step of two loops, ``repeats`` times each, alternating
    which runs first, and the steps per repeat.

    ``iters=None``: as many steps per repeat (1 to ``MAX_AUTO_ITERS``) as
    fit ``budget`` seconds, judged by the last warm-up step of each loop.
    """
    last = [0.0, 0.0]
    for which, step in enumerate((first, second)):
        for i in range(warmup):
            synchronize(device)
            start = time.perf_counter()
            step(batches[i % len(batches)])
            synchronize(device)
            last[which] = time.perf_counter() - start
    if iters is None:
        fits = int(budget / (repeats * max(sum(last), 1e-6)))
        iters = max(1, min(MAX_AUTO_ITERS, fits))
    times: Tuple[List[float], List[float]] = ([], [])
    for r in range(repeats):
        order = (0, 1) if r % 2 == 0 else (1, 0)
        for which in order:
            step = (first, second)[which]
            synchronize(device)
            start = time.perf_counter()
            for i in range(iters):
                step(batches[i % len(batches)])
            synchronize(device)
            times[which].append((time.perf_counter() - start) / iters)
    return times[0], times[1], iters


# ---------------------------------------------------------------- runner
def runner_rate(model_cfg: dict, schedule: Any, device: torch.device,
                batches: Sequence[Batch], iters: int, skip: int
                ) -> Dict[str, float]:
    """Images per second of ``Runner.train()`` over its last
    ``iters - skip`` iterations, and the wall time of the whole call."""
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    from torch.utils.data import Dataset

    batch_size = len(batches[0]['inputs'])
    size = batches[0]['inputs'][0].shape[-1]
    meta = model_meta()

    class InMemoryCrops(Dataset):
        """The prebuilt crops, one per item, with the model metainfo."""

        metainfo = meta

        def __len__(self) -> int:
            return batch_size * len(batches)

        def __getitem__(self, index: int) -> dict:
            batch = batches[index // batch_size]
            return dict(inputs=batch['inputs'][index % batch_size],
                        data_samples=batch['data_samples'][index %
                                                           batch_size])

    class IterClock(Hook):
        """Reads the clock after the hooks of two iterations, so the span
        holds whole iterations: data loading, step and hooks."""

        priority = 'LOWEST'

        def __init__(self) -> None:
            self.start: Optional[float] = None
            self.stop: Optional[float] = None

        def after_train_iter(self, runner, batch_idx: int,
                             data_batch: Any = None,
                             outputs: Any = None) -> None:
            if batch_idx == skip - 1 or batch_idx == iters - 1:
                synchronize(device)
                now = time.perf_counter()
                if batch_idx == skip - 1:
                    self.start = now
                if batch_idx == iters - 1:
                    self.stop = now

        def before_train(self, runner) -> None:
            if skip == 0:
                synchronize(device)
                self.start = time.perf_counter()

    runtime = Config.fromfile(RUNTIME_CONFIG)
    default_hooks = runtime.default_hooks.to_dict()
    default_hooks['checkpoint'] = None  # nothing written to disk
    default_hooks['logger'] = dict(type='LoggerHook', interval=50)
    clock = IterClock()
    custom_hooks = [h.to_dict() for h in runtime.custom_hooks] + [clock]
    model = build_model(model_cfg, device, False, False)
    with tempfile.TemporaryDirectory(prefix='posessl_throughput_') as tmp:
        runner = Runner(
            model=model,
            work_dir=tmp,
            experiment_name=f'throughput_{size}px_{time.monotonic_ns()}',
            train_dataloader=dict(
                dataset=InMemoryCrops(),
                batch_size=batch_size,
                num_workers=0,
                # endless: at each end of a finite loader MMEngine's
                # iteration loop sleeps 2 s, which is not throughput
                sampler=dict(type='InfiniteSampler', shuffle=True),
                collate_fn=dict(type='pseudo_collate')),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=iters),
            optim_wrapper=schedule.optim_wrapper.to_dict(),
            param_scheduler=[s.to_dict() for s in schedule.param_scheduler],
            default_hooks=default_hooks,
            custom_hooks=custom_hooks,
            log_processor=dict(by_epoch=False),
            env_cfg=runtime.env_cfg.to_dict(),
            randomness=dict(seed=0),
            default_scope='posessl',
            log_level='WARNING')
        start = time.perf_counter()
        runner.train()
        synchronize(device)
        total = time.perf_counter() - start
    timed = iters - skip
    step = (clock.stop - clock.start) / timed
    return dict(iters=iters, timed_iters=timed, s_per_step=step,
                img_per_s=batch_size / step, train_call_s=total)


# ----------------------------------------------------------------- table
def print_table(rows: List[dict], runner_rows: List[dict]) -> None:
    """The figures, one line per size, variant and mode."""
    header = (f"{'size':>4}  {'variant':<8}  {'mode':<5}  "
              f"{'posessl img/s':>13}  {'plain img/s':>11}  "
              f"{'overhead':>8}  {'t/t_fp32':>8}  {'steps':>7}")
    print()
    print(header)
    print('-' * len(header))
    for row in rows:
        vs = row.get('t_vs_fp32')
        print(f"{row['size']:>4}  {row['variant']:<8}  {row['mode']:<5}  "
              f"{row['posessl_img_per_s']:>13.1f}  "
              f"{row['plain_img_per_s']:>11.1f}  "
              f"{row['overhead']:>7.3f}x  "
              f"{'-' if vs is None else f'{vs:.3f}x':>8}  "
              f"{str(row['repeats']) + ' x ' + str(row['iters']):>7}")
    print('overhead = posessl/MMEngine step time / plain PyTorch step '
          'time; t/t_fp32 = posessl step time / that of fp32 (below 1: '
          'faster); steps = repeats x steps per repeat (median reported)')
    if runner_rows:
        print()
        print(f"{'size':>4}  {'Runner.train img/s':>18}  "
              f"{'t/t_train_step':>14}  {'t/t_plain':>9}  "
              f"{'iters (timed)':>13}  {'train() s':>9}")
        for row in runner_rows:
            print(f"{row['size']:>4}  {row['img_per_s']:>18.1f}  "
                  f"{row['t_vs_train_step']:>13.3f}x  "
                  f"{row['t_vs_plain']:>8.3f}x  "
                  f"{row['iters']:>6} ({row['timed_iters']:>4})  "
                  f"{row['train_call_s']:>9.1f}")
        print('Runner.train: float32 model, in-memory dataset, 0 workers, '
              'default_runtime hooks without checkpoints; t/t_train_step '
              'and t/t_plain compare its step time with the fp32 '
              'train_step and plain loop above')


# ------------------------------------------------------------------ main
def head_overhead(model_cfg: dict, device: torch.device, batch_size: int,
                  iters: Optional[int], warmup: int, repeats: int,
                  budget: float) -> dict:
    """Seconds per batch of what posessl adds around the head's maths, on
    fixed features (no backbone): ``data_preprocessor`` + ``head.loss`` +
    ``head.predict`` on data samples, against :func:`tensor_maths` (loss
    and decoding) on tensors stacked beforehand. The samples are moved in
    place, so on CUDA only the first step pays their copy."""
    size = 64
    model = build_model(model_cfg, device, False, False).train()
    head = model.head
    batch = make_batches(size, batch_size, 1)[0]
    tensors = batch_tensors(model, batch, device)
    feats = torch.randn(batch_size, head.in_channels, device=device)

    def posessl_step(batch: Batch) -> Any:
        data = model.data_preprocessor(batch, True)
        samples = data['data_samples']
        losses = head.loss(feats, samples, (size, size))
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        return loss, head.predict(feats, samples, (size, size))

    def maths_step(batch: Batch) -> Any:
        return (tensor_maths(head, feats, tensors, (size, size)),
                tensor_maths(head, feats, tensors, (size, size), False))

    with torch.no_grad():
        ours, maths, steps = time_pair(posessl_step, maths_step, [batch],
                                       iters, max(warmup, 1), repeats,
                                       device, budget)
    t_ours, t_maths = statistics.median(ours), statistics.median(maths)
    return dict(batch_size=batch_size, iters=steps,
                posessl_ms=1e3 * t_ours, tensor_maths_ms=1e3 * t_maths,
                ratio=t_ours / t_maths)


def main() -> None:
    args = parse_args()
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no CUDA GPU is available')
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    from posessl.engine.optim_wrappers import cpu_supports_bf16
    cpu_variants = ['fp32', 'amp', 'cl', 'amp+cl'] if cpu_supports_bf16() \
        else ['fp32', 'cl']
    chosen = args.variants or (list(VARIANTS)
                               if device.type == 'cuda' else cpu_variants)
    # fp32 first: the reference of t/t_fp32
    variants = ['fp32'] + [v for v in VARIANTS if v in chosen and v != 'fp32']
    if device.type != 'cuda' and not set(variants) <= set(cpu_variants):
        raise SystemExit(f'on this CPU the variants {cpu_variants} are timed '
                         '(amp needs native bfloat16)')
    warmup = args.warmup if args.warmup is not None else (
        10 if device.type == 'cuda' else 1)
    run_runner = args.runner
    if run_runner and device.type == 'cpu' and torch.cuda.is_available():
        print('note: --runner skipped: the Runner would move the model to '
              'the GPU that this machine has')
        run_runner = False

    info = machine_info(device)
    print_machine(info)
    model_cfg, optim_cfg, schedule = load_configs()
    steps_note = (f'{args.iters} steps' if args.iters else
                  f'steps to fit {args.budget:g} s')
    print(f'batch {args.batch_size}, sizes {args.sizes}, variants '
          f'{variants}, warm-up {warmup} steps, median of {args.repeats} '
          f'repeats of {steps_note}', flush=True)
    began = time.perf_counter()

    overhead_rows: List[dict] = []
    for batch_size in args.overhead_batches:
        row = head_overhead(model_cfg, device, batch_size, args.iters,
                            warmup, args.repeats, args.budget * 0.05)
        overhead_rows.append(row)
        print(f"host overhead, batch {batch_size}: preprocessor + head "
              f"loss + decode {row['posessl_ms']:.2f} ms, tensor maths "
              f"{row['tensor_maths_ms']:.2f} ms, ratio {row['ratio']:.2f}x "
              f"({args.repeats} x {row['iters']} steps)", flush=True)
    if args.overhead_only:
        args.sizes = []
    rows: List[dict] = []
    runner_rows: List[dict] = []
    share = args.budget / max(1, len(args.sizes) * len(variants))
    for size in args.sizes:
        batches = make_batches(size, args.batch_size, NUM_BATCHES)
        fp32_times: Dict[str, float] = {}
        fp32_iters: Dict[str, int] = {}
        for variant in variants:
            amp, cl_inputs, cl_weights = VARIANTS[variant]
            model = build_model(model_cfg, device, cl_inputs, cl_weights)
            steps = make_steps(model, optim_cfg, device, amp, cl_inputs)
            for mode in ('train', 'infer'):
                model.train(mode == 'train')
                ours, plain, iters = time_pair(
                    steps[f'posessl_{mode}'], steps[f'plain_{mode}'],
                    batches, args.iters, warmup, args.repeats, device,
                    share * (TRAIN_SHARE if mode == 'train' else
                             1 - TRAIN_SHARE))
                t_ours = statistics.median(ours)
                t_plain = statistics.median(plain)
                if variant == 'fp32':
                    fp32_times[mode] = t_ours
                    fp32_iters[mode] = iters
                row = dict(
                    size=size, variant=variant, mode=mode,
                    batch_size=args.batch_size, iters=iters,
                    warmup=warmup, repeats=args.repeats,
                    posessl_s_per_step=t_ours, plain_s_per_step=t_plain,
                    posessl_img_per_s=args.batch_size / t_ours,
                    plain_img_per_s=args.batch_size / t_plain,
                    overhead=t_ours / t_plain,
                    posessl_s_per_step_repeats=ours,
                    plain_s_per_step_repeats=plain)
                if variant != 'fp32':
                    row['t_vs_fp32'] = t_ours / fp32_times[mode]
                rows.append(row)
                print(f'{size:>4} px  {variant:<8}  {mode:<5}  posessl '
                      f'{row["posessl_img_per_s"]:8.1f} img/s, plain '
                      f'{row["plain_img_per_s"]:8.1f} img/s, overhead '
                      f'{row["overhead"]:.3f}x ({args.repeats} x {iters} '
                      'steps)', flush=True)
            del model, steps
        if run_runner:
            count = args.runner_iters or (
                warmup + args.repeats * fp32_iters['train'])
            skip = min(warmup, count - 1)
            rate = runner_rate(model_cfg, schedule, device, batches, count,
                               skip)
            fp32 = next(r for r in rows if r['size'] == size
                        and r['variant'] == 'fp32' and r['mode'] == 'train')
            rate.update(
                size=size, batch_size=args.batch_size,
                t_vs_train_step=rate['s_per_step'] /
                fp32['posessl_s_per_step'],
                t_vs_plain=rate['s_per_step'] / fp32['plain_s_per_step'])
            runner_rows.append(rate)
            print(f'{size:>4} px  Runner.train  {rate["img_per_s"]:8.1f} '
                  f'img/s over {rate["timed_iters"]} iterations', flush=True)
        if device.type == 'cuda':
            torch.cuda.empty_cache()

    total = time.perf_counter() - began
    print_table(rows, runner_rows)
    print(f'total {total:.0f} s')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(machine=info, args=vars(args), total_s=total,
                           results=rows, runner=runner_rows,
                           host_overhead=overhead_rows), f, indent=2)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
