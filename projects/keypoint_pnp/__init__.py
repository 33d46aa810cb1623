"""Keypoint + PnP pose head: a posessl project (see its README.md)."""
