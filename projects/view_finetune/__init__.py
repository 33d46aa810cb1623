"""The relative-viewpoint loss while fine-tuning: a posessl project (see
README.md)."""
