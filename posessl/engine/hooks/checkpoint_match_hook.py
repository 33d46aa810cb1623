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

    Runs :func:`~posessl.engine.checkpoint_safety.check_checkpoint_fits`
    (names, shapes, finite values) on the loaded file before any weight is
    copied, raising :class:`~posessl.engine.CheckpointError`. A config that
    loads part of a model on purpose sets ``load_partial = True``;
    ``resume`` is always checked in full.
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
