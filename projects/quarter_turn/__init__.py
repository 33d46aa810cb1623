"""Quarter-turn pretext for pretraining: a posessl project (see README.md)."""
