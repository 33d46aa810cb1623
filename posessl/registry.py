"""posessl registries: one child of MMEngine's root registry per kind used.

Configs use ``default_scope = 'posessl'``; another MMEngine project reaches
these components with ``custom_imports=dict(imports=['posessl'])`` and a
``posessl.`` prefix on the type name (``type='posessl.PoseRegressor'``).
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
)
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import (
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS,
)
from mmengine.registry import Registry

__all__ = [
    'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'WEIGHT_INITIALIZERS',
    'METRICS', 'EVALUATOR', 'HOOKS', 'LOOPS', 'LOG_PROCESSORS',
    'MODEL_WRAPPERS', 'VISUALIZERS', 'VISBACKENDS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
    'CODECS', 'REGISTRY_LOCATIONS'
]

#: Where each registry's components live; ``Registry.import_from_location``
#: imports these modules when a component is built by name.
REGISTRY_LOCATIONS = {
    'dataset': ['posessl.datasets'],
    'data sampler': ['posessl.datasets.samplers'],
    'transform': ['posessl.datasets.transforms'],
    'model': ['posessl.models'],
    # target codecs (mmdet keeps its box coders in TASK_UTILS too)
    'codec': ['posessl.codecs'],
    'weight initializer': ['posessl.models'],
    'metric': ['posessl.evaluation'],
    'evaluator': ['posessl.evaluation'],
    'hook': ['posessl.engine'],
    'loop': ['posessl.engine'],
    'model_wrapper': ['posessl.engine'],
    'visualizer': ['posessl.visualization'],
    'vis_backend': ['posessl.visualization'],
    # posessl adds none of these yet; the children exist so that configs in
    # the posessl scope find MMEngine's optimizers and schedulers quietly
    'optimizer': ['posessl.engine'],
    'optim_wrapper': ['posessl.engine'],
    'optimizer wrapper constructor': ['posessl.engine'],
    'parameter scheduler': ['posessl.engine'],
    # the Runner builds its LogProcessor in the config's scope
    'log_processor': ['posessl.engine'],
}


def _child(name: str, parent: Registry) -> Registry:
    return Registry(
        name,
        parent=parent,
        scope='posessl',
        locations=REGISTRY_LOCATIONS[name])


DATASETS = _child('dataset', MMENGINE_DATASETS)
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS)
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS)
MODELS = _child('model', MMENGINE_MODELS)
WEIGHT_INITIALIZERS = _child('weight initializer',
                             MMENGINE_WEIGHT_INITIALIZERS)
METRICS = _child('metric', MMENGINE_METRICS)
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR)
HOOKS = _child('hook', MMENGINE_HOOKS)
LOOPS = _child('loop', MMENGINE_LOOPS)
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS)
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS)
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS)
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS)
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS)
#: Target codecs: the pipeline encodes with one, the head decodes with it.
CODECS = _child('codec', MMENGINE_TASK_UTILS)
