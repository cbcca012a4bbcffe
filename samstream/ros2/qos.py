"""QoS profiles by name: ``default``, ``reliable``, ``sensor`` (= ``best_effort``), ``transient_local``.

``PROFILE[:DEPTH]`` on the command line (``--ros2-qos sensor:2``). All keep the last ``DEPTH``
messages (never an unbounded history). What a publisher with each profile reaches:

=================  ===========  =================  =====  ==========================================
profile            reliability  durability         depth  subscribers that receive
=================  ===========  =================  =====  ==========================================
default            reliable     volatile           5      reliable **and** best-effort (SensorDataQoS)
reliable           reliable     volatile           10     reliable and best-effort
sensor/best_effort best effort  volatile           5      best-effort only
transient_local    reliable     transient local    1      all; late joiners get the last message
=================  ===========  =================  =====  ==========================================

A reliable publisher that keeps the last N messages never blocks on a slow subscriber: the
oldest unacknowledged message is overwritten (and samstream publishes from its own thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["QosSpec", "parse_qos", "PROFILES", "to_rclpy"]


@dataclass(frozen=True)
class QosSpec:
    reliability: str  # "reliable" | "best_effort"
    durability: str  # "volatile" | "transient_local"
    depth: int

    def __str__(self) -> str:
        return f"{self.reliability}/{self.durability}/depth={self.depth}"


PROFILES = {
    "default": QosSpec("reliable", "volatile", 5),
    "reliable": QosSpec("reliable", "volatile", 10),
    "sensor": QosSpec("best_effort", "volatile", 5),
    "best_effort": QosSpec("best_effort", "volatile", 5),
    "transient_local": QosSpec("reliable", "transient_local", 1),
}


def parse_qos(text: Any) -> QosSpec:
    """``"default"``, ``"sensor:2"``, a :class:`QosSpec` -> :class:`QosSpec` (``ValueError`` naming the choices)."""
    if isinstance(text, QosSpec):
        return text
    s = str(text).strip().lower().replace("-", "_")
    name, _, depth = s.partition(":")
    name = name or "default"
    if name in ("sensor_data", "sensordata", "besteffort"):
        name = "sensor"
    if name not in PROFILES:
        raise ValueError(f"unknown QoS {text!r}: use one of {', '.join(PROFILES)}, optionally with :DEPTH "
                         "(e.g. 'sensor:2').")
    spec = PROFILES[name]
    if depth:
        try:
            d = int(depth)
        except ValueError:
            d = 0
        if not 1 <= d <= 1000:
            raise ValueError(f"QoS depth {depth!r} in {text!r} must be an integer 1..1000.")
        spec = QosSpec(spec.reliability, spec.durability, d)
    return spec


def to_rclpy(spec: QosSpec) -> Any:
    """The rclpy ``QoSProfile`` of a :class:`QosSpec` (imports rclpy)."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=int(spec.depth),
        reliability=ReliabilityPolicy.RELIABLE if spec.reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if spec.durability == "transient_local" else DurabilityPolicy.VOLATILE,
    )
