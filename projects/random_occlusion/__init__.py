"""Random occlusion of the training renders: a posessl project (see
README.md)."""
