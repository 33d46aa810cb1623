"""Tests of posessl.geometry."""
