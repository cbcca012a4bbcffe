"""Per-object tracking between keyframes (optical flow) with keyframe refresh by the predictor."""

from .tracker import TrackedObject, Tracker, TrackerConfig

__all__ = ["Tracker", "TrackerConfig", "TrackedObject"]
