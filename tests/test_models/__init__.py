"""Tests of posessl.models."""
