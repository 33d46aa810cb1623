"""A memory-mapped frame cache for training: a posessl project (README.md)."""
