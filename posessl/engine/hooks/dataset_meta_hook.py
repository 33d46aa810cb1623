"""Hands the dataset's metainfo (model points, diameters, symmetries) to the
model before each stage, so the loss and the prediction know the objects."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from posessl.registry import HOOKS


@HOOKS.register_module()
class DatasetMetaHook(Hook):
    """Calls ``model.set_dataset_meta(dataset.metainfo)`` where it exists.

    Runs before training (train set), validation and testing (their sets), so
    a model trained on some objects and tested on others always sees the
    objects of the data it is fed.
    """

    priority = 'VERY_HIGH'

    def _hand_over(self, runner, dataloader) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        metainfo: Optional[dict] = getattr(dataloader.dataset, 'metainfo',
                                           None)
        if metainfo is not None and hasattr(model, 'set_dataset_meta'):
            model.set_dataset_meta(metainfo)

    def before_train(self, runner) -> None:
        self._hand_over(runner, runner.train_dataloader)

    def before_val(self, runner) -> None:
        self._hand_over(runner, runner.val_dataloader)

    def before_test(self, runner) -> None:
        self._hand_over(runner, runner.test_dataloader)

    def after_val(self, runner) -> None:
        # back to the training objects when training goes on after validation
        train_loop = getattr(runner, '_train_loop', None)
        if train_loop is not None and not isinstance(train_loop, dict):
            self._hand_over(runner, train_loop.dataloader)
