"""Totals the training samples skipped as unreadable, in the message hub."""
from typing import Optional

from mmengine.hooks import Hook

from posessl.datasets.transforms.loading import SKIPPED_KEY
from posessl.registry import HOOKS

__all__ = ['SkippedSamplesHook', 'TOTAL_KEY', 'REASONS_KEY']

#: Message hub runtime info: the number of skipped samples so far, and the
#: reasons of the first :data:`SHOWN` of them (saved with the checkpoint).
TOTAL_KEY = 'skipped_samples'
REASONS_KEY = 'skipped_reasons'
SHOWN = 3


@HOOKS.register_module()
class SkippedSamplesHook(Hook):
    """Totals the samples ``LoadImageAndMask(skip_bad=True)`` skipped in
    the message hub, under :data:`TOTAL_KEY` and :data:`REASONS_KEY`, from
    the reasons the batch's samples carry (:data:`SKIPPED_KEY`)."""

    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs=None) -> None:
        samples = (data_batch or {}).get('data_samples') or ()
        reasons = [reason for sample in samples
                   for reason in getattr(sample, 'metainfo', {}).get(
                       SKIPPED_KEY, ())]
        if not reasons:
            return
        hub = runner.message_hub
        hub.update_info(TOTAL_KEY, hub.get_info(TOTAL_KEY, 0) + len(reasons))
        shown = list(hub.get_info(REASONS_KEY, []))
        hub.update_info(REASONS_KEY, (shown + reasons)[:SHOWN])

