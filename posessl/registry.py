"""posessl registries: one child of MMEngine's root registry per kind used.

Configs use ``default_scope = 'posessl'``; another MMEngine project reaches
these components with ``custom_imports=dict(imports=['posessl'])`` and a
``posessl.`` prefix on the type name (``type='posessl.PoseRegressor'``).
"""
from mmengine import registry as mmengine_registry
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
    return Registry(name, parent=parent, scope='posessl',
                    locations=REGISTRY_LOCATIONS[name])


DATASETS = _child('dataset', mmengine_registry.DATASETS)
DATA_SAMPLERS = _child('data sampler', mmengine_registry.DATA_SAMPLERS)
TRANSFORMS = _child('transform', mmengine_registry.TRANSFORMS)
MODELS = _child('model', mmengine_registry.MODELS)
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmengine_registry.WEIGHT_INITIALIZERS)
METRICS = _child('metric', mmengine_registry.METRICS)
EVALUATOR = _child('evaluator', mmengine_registry.EVALUATOR)
HOOKS = _child('hook', mmengine_registry.HOOKS)
LOOPS = _child('loop', mmengine_registry.LOOPS)
MODEL_WRAPPERS = _child('model_wrapper', mmengine_registry.MODEL_WRAPPERS)
VISUALIZERS = _child('visualizer', mmengine_registry.VISUALIZERS)
VISBACKENDS = _child('vis_backend', mmengine_registry.VISBACKENDS)
OPTIMIZERS = _child('optimizer', mmengine_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', mmengine_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    mmengine_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child('parameter scheduler',
                          mmengine_registry.PARAM_SCHEDULERS)
LOG_PROCESSORS = _child('log_processor', mmengine_registry.LOG_PROCESSORS)
#: Target codecs: the pipeline encodes with one, the head decodes with it.
CODECS = _child('codec', mmengine_registry.TASK_UTILS)
