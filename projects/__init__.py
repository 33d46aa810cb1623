"""Experiments built on posessl, kept apart from the core (``posessl/``).

Each ``projects/<name>/`` holds a package that registers its components in
posessl's registries, its configs and its tests; a config loads the package
with ``custom_imports``. The core never imports a project.
"""
