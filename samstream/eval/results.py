"""Typed evaluation results: :class:`ObjectResult`, :class:`SequenceResult`, :class:`EvalResult`.

Scores are J (region similarity) and F (boundary accuracy) in ``[0, 1]``; NaN where nothing was
scored (``None`` in JSON). Times are seconds, speeds frames per second.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional, Union

import numpy as np

from .metrics import DEFAULT_BOUND_TH

__all__ = ["ObjectResult", "SequenceResult", "EvalResult"]


def _mean(values: Iterable[float]) -> float:
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    return float(np.mean(v)) if v else float("nan")


def _json_float(x: float) -> Optional[float]:
    x = float(x)
    return x if np.isfinite(x) else None


@dataclass
class ObjectResult:
    """J and F of one object over the scored frames of a sequence."""

    obj_id: int
    J_per_frame: list[float]
    F_per_frame: list[float]

    @property
    def J(self) -> float:
        """Mean J over the scored frames (NaN when none)."""
        return _mean(self.J_per_frame)

    @property
    def F(self) -> float:
        return _mean(self.F_per_frame)

    @property
    def J_recall(self) -> float:
        """DAVIS recall: the fraction of scored frames with J > 0.5."""
        return _mean([float(j > 0.5) for j in self.J_per_frame])

    @property
    def F_recall(self) -> float:
        return _mean([float(f > 0.5) for f in self.F_per_frame])

    def to_dict(self) -> dict:
        return {
            "obj_id": int(self.obj_id),
            "J": _json_float(self.J),
            "F": _json_float(self.F),
            "J_recall": _json_float(self.J_recall),
            "F_recall": _json_float(self.F_recall),
            "J_per_frame": [float(x) for x in self.J_per_frame],
            "F_per_frame": [float(x) for x in self.F_per_frame],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "ObjectResult":
        return cls(int(d["obj_id"]), list(d["J_per_frame"]), list(d["F_per_frame"]))


@dataclass
class SequenceResult:
    """One sequence: per-object scores, the scored frame stems and the tracker's speed.

    ``samples`` maps a few frame positions to the predicted ``(H, W)`` uint8 label map, for
    :func:`render_overlay_strip`; it is not part of :meth:`to_dict`.
    """

    name: str
    prompt_stem: str
    scored_stems: list[str]
    objects: list[ObjectResult]
    n_tracked: int
    track_seconds: float
    init_seconds: float
    samples: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def J(self) -> float:
        """Mean over objects of each object's mean J."""
        return _mean(o.J for o in self.objects)

    @property
    def F(self) -> float:
        return _mean(o.F for o in self.objects)

    @property
    def JF(self) -> float:
        return (self.J + self.F) / 2.0

    @property
    def fps(self) -> float:
        """Frames per second of ``track()`` alone (wall clock, every frame incl. the prompt frame)."""
        return self.n_tracked / self.track_seconds if self.track_seconds > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "J": _json_float(self.J),
            "F": _json_float(self.F),
            "JF": _json_float(self.JF),
            "fps": _json_float(self.fps),
            "n_tracked": int(self.n_tracked),
            "n_scored": len(self.scored_stems),
            "track_seconds": float(self.track_seconds),
            "init_seconds": float(self.init_seconds),
            "prompt_stem": self.prompt_stem,
            "scored_stems": list(self.scored_stems),
            "objects": [o.to_dict() for o in self.objects],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "SequenceResult":
        return cls(
            name=d["name"],
            prompt_stem=d["prompt_stem"],
            scored_stems=list(d["scored_stems"]),
            objects=[ObjectResult.from_dict(o) for o in d["objects"]],
            n_tracked=int(d["n_tracked"]),
            track_seconds=float(d["track_seconds"]),
            init_seconds=float(d["init_seconds"]),
        )


@dataclass
class EvalResult:
    """The whole run: one :class:`SequenceResult` per sequence plus the settings used."""

    method: str
    prompt_mode: str
    sequences: list[SequenceResult]
    bound_th: float = DEFAULT_BOUND_TH
    exclude_last: bool = False

    @property
    def J(self) -> float:
        """Mean over sequences of the sequence J."""
        return _mean(s.J for s in self.sequences)

    @property
    def F(self) -> float:
        return _mean(s.F for s in self.sequences)

    @property
    def JF(self) -> float:
        return (self.J + self.F) / 2.0

    @property
    def J_objects(self) -> float:
        """Mean over every object of every sequence (the DAVIS-2017 global J)."""
        return _mean(o.J for s in self.sequences for o in s.objects)

    @property
    def F_objects(self) -> float:
        return _mean(o.F for s in self.sequences for o in s.objects)

    @property
    def fps(self) -> float:
        """All tracked frames over all time spent in ``track()``."""
        t = sum(s.track_seconds for s in self.sequences)
        return sum(s.n_tracked for s in self.sequences) / t if t > 0 else float("nan")

    def sequence(self, name: str) -> SequenceResult:
        for s in self.sequences:
            if s.name == name:
                return s
        raise KeyError(f"no sequence {name!r}; have {[s.name for s in self.sequences]}")

    def to_dict(self) -> dict:
        """A JSON-serialisable dict (NaN becomes ``None``); :meth:`from_dict` reads it back."""
        return {
            "method": self.method,
            "prompt_mode": self.prompt_mode,
            "protocol": {
                "bound_th": float(self.bound_th),
                "exclude_first": True,
                "exclude_last": bool(self.exclude_last),
                "sequence_score": "mean over objects of the per-object mean over scored frames",
                "J": "mean over sequences",
                "J_objects": "mean over all objects (DAVIS-2017 global)",
            },
            "J": _json_float(self.J),
            "F": _json_float(self.F),
            "JF": _json_float(self.JF),
            "J_objects": _json_float(self.J_objects),
            "F_objects": _json_float(self.F_objects),
            "fps": _json_float(self.fps),
            "sequences": [s.to_dict() for s in self.sequences],
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "EvalResult":
        proto = d.get("protocol", {})
        return cls(
            method=d["method"],
            prompt_mode=d["prompt_mode"],
            sequences=[SequenceResult.from_dict(s) for s in d["sequences"]],
            bound_th=float(proto.get("bound_th", DEFAULT_BOUND_TH)),
            exclude_last=bool(proto.get("exclude_last", False)),
        )

    def save_json(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load_json(cls, path: Union[str, Path]) -> "EvalResult":
        """Read a file written by :meth:`save_json`; ``ValueError`` naming the file if it is not one."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValueError(f"{path} is not a samstream eval result ({type(exc).__name__}: {what}): "
                             "write it with `samstream eval DIR --json FILE`.") from None

    def summary(self) -> str:
        """A plain-text table: one row per sequence, then the means."""
        lines = [
            f"method={self.method} prompt={self.prompt_mode} bound_th={self.bound_th} "
            f"exclude_last={self.exclude_last}",
            f"{'sequence':<16}{'objs':>5}{'frames':>8}{'J':>8}{'F':>8}{'J&F':>8}{'fps':>8}",
        ]
        for s in self.sequences:
            lines.append(
                f"{s.name:<16}{len(s.objects):>5}{len(s.scored_stems):>8}"
                f"{s.J:>8.3f}{s.F:>8.3f}{s.JF:>8.3f}{s.fps:>8.1f}"
            )
        lines.append(f"{'mean':<16}{'':>5}{'':>8}{self.J:>8.3f}{self.F:>8.3f}{self.JF:>8.3f}{self.fps:>8.1f}")
        return "\n".join(lines)
