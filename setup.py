"""Packages posessl: the library, and its configs and tools inside it.

A wheel carries ``configs/`` and ``tools/`` under ``posessl/.mim/`` (the
layout OpenMMLab's ``mim`` looks in), copied there at build time: the
console commands (``posessl-train CONFIG_NAME ...``) find them from any
folder. The install requirements are lower bounds only, so that installing
posessl into an existing OpenMMLab environment keeps that environment's
torch and its full mmcv; the exact versions this project is tested with are
in ``constraints.txt`` (``pip install -e '.[dev,interop,lite]' -c
constraints.txt``).
"""
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
#: Repository folders shipped inside the package, under ``posessl/.mim``.
MIM_FOLDERS = ('configs', 'tools')


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(HERE, 'posessl', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def copy_mim_folders(target: str) -> None:
    """Copy :data:`MIM_FOLDERS` into ``target`` (replacing an old copy)."""
    if osp.isdir(target):
        shutil.rmtree(target)
    for name in MIM_FOLDERS:
        source = osp.join(HERE, name)
        if not osp.isdir(source):
            raise SystemExit(f'error: {source} is missing: posessl is built '
                             'from a checkout or an sdist that has it')
        shutil.copytree(source, osp.join(target, name),
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


class BuildPyWithMim(build_py):
    """``build_py`` that also puts the configs and tools into the built
    package. An editable install needs no copy: the commands find them in
    the checkout."""

    def run(self) -> None:
        super().run()
        if not getattr(self, 'editable_mode', False):
            copy_mim_folders(osp.join(self.build_lib, 'posessl', '.mim'))


setup(
    name='posessl',
    version=read_version(),
    description='Few-label 6-DoF object pose estimation with self-supervised '
    'relative-viewpoint pretraining, as an MMEngine plugin',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(
        exclude=('tests', 'tests.*', 'benchmarks', 'projects', 'projects.*')),
    include_package_data=True,
    cmdclass={'build_py': BuildPyWithMim},
    install_requires=[
        # lower bounds only: an environment's own (CUDA) build stays
        'torch>=2.4',  # torch.serialization.add_safe_globals
        'torchvision>=0.19',
        'mmengine>=0.10.7',
        # mmcv is not listed: mmcv-lite and the full mmcv both import as
        # ``mmcv`` and no requirement can say "either"; the ``lite`` extra
        # adds mmcv-lite, and importing posessl without any mmcv 2.x stops
        # with a line saying so. cv2 comes with either mmcv, which picks the
        # OpenCV wheel that suits the environment (opencv-python or
        # -headless; listing one here could install it over the other).
        'numpy',
        'scipy',
        'matplotlib',
        'tqdm',
        'tensorboard',
        # the synthetic LINEMOD renderer (headless EGL; needs libEGL/libGL)
        'moderngl>=5.8',
        'trimesh>=4',
    ],
    extras_require={
        # posessl uses only mmcv's pure-Python part (mmcv.transforms)
        'lite': ['mmcv-lite>=2.0.0'],
        # wheel: tests/test_packaging.py builds the wheel without build
        # isolation (a venv's setuptools before 70.1 has no bdist_wheel)
        'dev': ['pytest', 'pytest-timeout', 'ruff', 'wheel'],
        # mmpretrain imports ``modelindex`` from the package model-index;
        # importlib-metadata 8+ breaks its import
        'interop': [
            'mmpretrain>=1.2.0', 'model-index', 'ordered-set',
            'importlib-metadata<8', 'einops', 'mat4py'
        ],
    },
    entry_points={
        'console_scripts': [
            'posessl=posessl.launcher:main',
            'posessl-train=posessl.launcher:train',
            'posessl-test=posessl.launcher:test',
            'posessl-infer=posessl.launcher:infer',
            'posessl-make-data=posessl.launcher:make_data',
            'posessl-pipeline=posessl.launcher:pipeline',
        ],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Framework :: PyTorch',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
)
