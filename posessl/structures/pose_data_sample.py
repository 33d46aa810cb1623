"""The data element passed between transforms, models, metrics and hooks."""
from mmengine.structures import BaseDataElement


class PoseDataSample(BaseDataElement):
    """One object instance in one image, with its pose labels and predictions.

    Metainfo (set by the data pipeline, plain Python / numpy):
        ``img_path``, ``obj_id``, ``scene_id``, ``im_id``, ``ori_shape``,
        ``img_shape``, ``bbox`` (x, y, w, h in the source image), ``cam_K``
        (3x3 of the source image), ``crop_K`` (3x3 of the network input),
        ``crop_center`` (cx, cy source px), ``crop_size`` (source px),
        ``zoom`` (input px per source px), ``has_pose`` (bool).

    Data fields (``torch.float32`` tensors, millimetres):
        ``gt_R`` (3, 3), ``gt_t`` (3,), ``pred_R`` (3, 3), ``pred_t`` (3,),
        optionally ``pred_score`` (scalar).
    """
