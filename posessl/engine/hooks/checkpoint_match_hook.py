"""Refuses a checkpoint whose weights are not the model's."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import find_latest_checkpoint

from posessl.engine.checkpoint_safety import check_state_dict_keys
from posessl.registry import HOOKS


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Fail before ``load_from``/``resume`` loads a mismatching checkpoint.

    MMEngine loads ``load_from`` non-strictly: a checkpoint of another model
    (the self-supervised one given to ``tools/test.py`` with a pose config)
    only logs "missing keys" and the randomly initialised rest is used. This
    hook raises :class:`~posessl.engine.CheckpointError` instead, with the
    count of missing and unexpected weights per top-level module. A config
    that loads part of a model on purpose sets ``load_partial = True``
    (``resume`` is always checked); a backbone-only
    ``init_cfg=dict(type='Pretrained')`` does not pass through here.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        resuming = bool(getattr(runner, '_resume', False))
        if not resuming and runner.cfg.get('load_partial', False):
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        filename = getattr(runner, '_load_from', None) or \
            find_latest_checkpoint(runner.work_dir) or 'the checkpoint'
        state = checkpoint.get('state_dict', checkpoint)
        check_state_dict_keys(model.state_dict().keys(), state.keys(),
                              str(filename))
