"""Property-based fuzzing (Hypothesis) of every parser and validator a user's text or JSON reaches:
prompt strings (``--prompt``, the ROS node's ``prompts`` parameter), prompts as JSON values
(``Prompt(...).validated``), the live view's box field (``parse_box``), source specs
(``open_source``, ``parse_synthetic_spec``), ROS QoS strings, saved evaluation results
(``EvalResult.load_json``) and label-map PNGs (``--init-mask``: ``read_mask``).

The property everywhere: the input is accepted (and the result is well-formed), or ONE
``ValueError`` (``FileNotFoundError``/``OSError`` for paths) with a message; nothing else escapes.
The distinct inputs tried per entry point go to ``artifacts/reliability/bad_inputs.json``.
"""

from __future__ import annotations

import json
import math
import string

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from relhelpers import examples, tally

from samstream.pipeline import parse_prompt, prompts_from_strings
from samstream.types import Prompt

W, H = 320, 240
TRIED: dict[str, set] = {}
REJECTED: dict[str, set] = {}
_LAST: list = []  # (entry, value) of the example running now


def _tried(entry: str, value) -> None:
    TRIED.setdefault(entry, set()).add(repr(value))
    _LAST[:] = [(entry, repr(value))]


def _clear(exc: BaseException) -> None:
    """A clear error: a message of some length, not an empty or internal one (and the input counts
    as a bad one)."""
    assert len(str(exc)) >= 15, repr(exc)
    for entry, value in _LAST:
        REJECTED.setdefault(entry, set()).add(value)


NUM = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                st.sampled_from(["", "-", ".", "1e999", "nan", "inf", "-0", "00", "1.", ".5", "0x10", "１"]))
KIND = st.sampled_from(["box", "point", "neg", "BOX", "pt", "", "box ", "mask", "points"])
SEP = st.sampled_from([",", ";", " ", ",,", ", "])
ID = st.one_of(st.just(""), st.integers(-5, 300).map(lambda i: f"@{i}"), st.sampled_from(["@", "@x", "@1@2", "@1.5"]))
PROMPT_TEXT = st.one_of(
    st.builds(lambda k, nums, sep, i: f"{k}:{sep.join(nums)}{i}", KIND, st.lists(NUM, max_size=6), SEP, ID),
    st.text(max_size=40),
    st.text(alphabet=string.digits + ",:@.-boxpintneg ", max_size=30),
)


@settings(max_examples=examples(600))
@given(PROMPT_TEXT)
def test_prompt_strings(text):
    _tried("--prompt / node prompts (parse_prompt)", text)
    try:
        kind, vals, oid = parse_prompt(text)
    except ValueError as exc:
        _clear(exc)
        return
    assert kind in ("box", "point", "neg") and len(vals) == (4 if kind == "box" else 2)
    assert all(isinstance(v, float) for v in vals) and isinstance(oid, int)


@settings(max_examples=examples(400))
@given(st.lists(PROMPT_TEXT, max_size=5))
def test_prompt_string_lists_become_prompts_or_one_error(texts):
    _tried("--prompt lists (prompts_from_strings)", tuple(texts))
    try:
        prompts = prompts_from_strings(texts)
    except ValueError as exc:
        _clear(exc)
        return
    for p in prompts:  # accepted: then checking against a frame is accepted or one ValueError
        assert isinstance(p, Prompt) and 1 <= p.obj_id <= 255
        try:
            p.validated(W, H)
        except ValueError as exc:
            _clear(exc)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats() | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                    max_leaves=12)
COORD = st.floats(-50, 400) | st.integers(-10, 500) | st.sampled_from([math.nan, math.inf, -math.inf])
PLAUSIBLE = st.fixed_dictionaries({"obj_id": st.integers(-2, 260) | JSON}, optional={
    "points": st.lists(st.lists(COORD, min_size=0, max_size=3), max_size=4) | JSON,
    "labels": st.lists(st.integers(-1, 2), max_size=4) | JSON,
    "box": st.lists(COORD, min_size=0, max_size=5) | JSON,
    "mask": st.sampled_from([[[True]], [], [[0, 1], [1, 0]], "mask", [[[1]]]]),
})


@settings(max_examples=examples(800))
@given(PLAUSIBLE)
def test_prompts_from_json_values(d):
    _tried("Prompt from JSON (Prompt(...).validated)", d)
    try:
        p = Prompt(**d).validated(W, H)
    except ValueError as exc:
        _clear(exc)
        return
    assert 1 <= p.obj_id <= 255
    if p.box is not None:
        assert p.box.dtype == np.float32 and np.all(np.isfinite(p.box)) and p.box[2] >= p.box[0]
    if p.points is not None:
        assert p.points.shape[1] == 2 and p.labels.shape == (p.points.shape[0],)


BOX_TEXT = st.one_of(st.builds(lambda nums, sep: sep.join(nums), st.lists(NUM, max_size=6), SEP), st.text(max_size=30))


@settings(max_examples=examples(500))
@given(BOX_TEXT)
def test_live_view_box_field(text):
    from samstream.ui.prompts import parse_box

    _tried("live view box field (parse_box)", text)
    try:
        x1, y1, x2, y2 = parse_box(text)
    except ValueError as exc:
        _clear(exc)
        return
    assert x1 <= x2 and y1 <= y2 and all(math.isfinite(v) for v in (x1, y1, x2, y2))


SYN = st.one_of(
    st.builds(lambda size, fps, opts: "synthetic" + (":" if size or fps or opts else "") + size + fps
              + "".join("," + o for o in opts),
              st.sampled_from(["", "64x48", "0x0", "1x1", "31x31", "-5x10", "64x", "x48", "64X48", "1e3x2",
                               "100000x100000", "65536x2"]),
              st.sampled_from(["", "@30", "@0", "@-1", "@nan", "@1e9", "@", "@30.5"]),
              st.lists(st.sampled_from(["seed=1", "seed=-1", "seed=x", "objects=0", "objects=17", "objects=3",
                                        "frames=3", "frames=-1", "frames=inf", "realtime=0", "realtime=maybe",
                                        "speed=nan", "speed=-2", "fps=0", "width=0", "bogus=1", "=", "==", ""]),
                       max_size=3)),
    st.text(max_size=20).map(lambda t: "synthetic:" + t),
)


@settings(max_examples=examples(400))
@given(SYN)
def test_synthetic_specs(spec):
    from samstream.sources import open_source

    _tried("--source synthetic specs (open_source)", spec)
    try:
        src = open_source(spec if "realtime" in spec else spec + ",realtime=0")
    except ValueError as exc:
        _clear(exc)
        return
    try:
        f = src.read(5.0)
        assert f is None or (f.image.dtype == np.uint8 and f.image.shape[2] == 3)
    finally:
        src.close()


def _safe_source_text(t: str) -> bool:
    low = t.strip().lower()
    # network URLs would wait for their open timeout, push/ros2 wait for frames: not fuzzed here
    return "://" not in t and not low.startswith(("push", "ros2", "synthetic", "rtsp", "http")) and "\x00" not in t


@settings(max_examples=examples(300))
@given(st.one_of(st.text(max_size=25).filter(_safe_source_text),
                 st.sampled_from(["-1", "0", "7", "999999999999", "/dev/video57", "/dev/null", "/dev/video",
                                  "/etc/passwd", "nope.mp4", "nope/", "*.nothing", ".", "..", "/", "~", "",
                                  " ", "1.5", "video.MP4", "frames/*.png", "C:\\clip.mp4"])))
def test_other_source_specs(spec):
    from samstream.sources import open_source

    _tried("--source other specs (open_source)", spec)
    try:
        src = open_source(spec)
    except (ValueError, OSError) as exc:  # OSError: FileNotFoundError, CameraNotFoundError, SourceOpenError
        _clear(exc)
        return
    src.close()


@settings(max_examples=examples(300))
@given(st.one_of(st.text(max_size=20), st.builds(lambda n, d: f"{n}:{d}", st.sampled_from(
    ["default", "reliable", "sensor", "sensor_data", "transient_local", "best-effort", "", "x"]), NUM)))
def test_ros_qos_strings(text):
    from samstream.ros2.qos import QosSpec, parse_qos

    _tried("--ros2-qos / node qos (parse_qos)", text)
    try:
        q = parse_qos(text)
    except ValueError as exc:
        _clear(exc)
        return
    assert isinstance(q, QosSpec) and 1 <= q.depth <= 1000


def _valid_eval_dict() -> dict:
    obj = {"obj_id": 1, "J": [0.5, 0.6], "F": [0.4, 0.5]}
    return {"method": "m", "prompt_mode": "mask", "protocol": {"bound_th": 0.008},
            "sequences": [{"name": "s", "frames": 2, "seconds": 1.0, "objects": [obj]}]}


@settings(max_examples=examples(400))
@given(st.one_of(JSON, st.builds(lambda k, v: {**_valid_eval_dict(), k: v},
                                 st.sampled_from(["method", "prompt_mode", "sequences", "protocol"]), JSON),
                 st.text(max_size=40)))
def test_saved_eval_results(tmp_path_factory, value):
    from samstream.eval.results import EvalResult

    _tried("saved eval results (EvalResult.load_json)", value)
    path = tmp_path_factory.getbasetemp() / "fuzz_eval.json"
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    try:
        r = EvalResult.load_json(path)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        _clear(exc)
        return
    assert r.summary()


def test_zz_tally():
    for entry, inputs in sorted(TRIED.items()):
        tally(entry, inputs, "hypothesis, deterministic", rejected=REJECTED.get(entry, set()))
    assert len(TRIED) >= 8, sorted(TRIED)
