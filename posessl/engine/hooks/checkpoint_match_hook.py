"""Refuses a checkpoint whose weights are not the model's."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import find_latest_checkpoint

from posessl.engine.checkpoint_safety import check_checkpoint_fits
from posessl.registry import HOOKS


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Fail before ``load_from``/``resume`` loads a checkpoint that does not
    fit the model.

    MMEngine loads ``load_from`` non-strictly: a checkpoint of another model
    (the self-supervised one given to ``tools/test.py`` with a pose config),
    or one whose head has another shape, only logs a warning and the
    randomly initialised rest is used. This hook runs
    :func:`~posessl.engine.checkpoint_safety.check_checkpoint_fits` on the
    loaded file before any weight is copied: names, shapes and finite
    values, or :class:`~posessl.engine.CheckpointError` in one line. A
    config that loads part of a model on purpose sets ``load_partial = True``
    (``resume`` is always checked in full); a backbone-only
    ``init_cfg=dict(type='Pretrained')`` does not pass through here.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        resuming = bool(getattr(runner, '_resume', False))
        partial = not resuming and bool(runner.cfg.get('load_partial', False))
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        filename = getattr(runner, '_load_from', None) or \
            find_latest_checkpoint(runner.work_dir) or 'the checkpoint'
        check_checkpoint_fits(checkpoint.get('state_dict', checkpoint),
                              model, str(filename), allow_partial=partial)
