"""In-plane rotation of the labelled crops: a posessl project (README.md)."""
