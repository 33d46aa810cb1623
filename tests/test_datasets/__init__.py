"""Tests of posessl.datasets."""
