"""Installs posessl and everything it needs (torch pinned, never upgraded)."""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join('posessl', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='posessl',
    version=read_version(),
    description='Few-label 6-DoF object pose estimation with self-supervised '
    'relative-viewpoint pretraining, as an MMEngine plugin',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'benchmarks')),
    include_package_data=True,
    install_requires=[
        # torch and torchvision pinned together: an unpinned torch would pull
        # another multi-GB build.
        'torch==2.14.1',
        'torchvision==0.29.1',
        'mmengine>=0.10.7,<0.11',
        'mmcv-lite==2.2.0',  # imports as ``mmcv``; a full mmcv also works
        'opencv-python',
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
        'dev': ['pytest', 'pytest-timeout', 'ruff'],
        # mmpretrain imports ``modelindex`` from the package model-index;
        # importlib-metadata 8+ breaks its import
        'interop': [
            'mmpretrain==1.2.0', 'model-index', 'ordered-set',
            'importlib-metadata<8', 'einops', 'mat4py'
        ],
    },
    classifiers=[
        'Programming Language :: Python :: 3',
        'Framework :: PyTorch',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
)
