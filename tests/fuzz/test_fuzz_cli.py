"""The command line under random options (Hypothesis): ``samstream run`` with random prompts,
sources, counts, paths, QoS and model names, ``samstream segment`` with random points/boxes and
``samstream bench``/``demo`` numbers. Outcome every time: exit 0 (a tiny stream ran to its end),
argparse's usage error (exit 2), or exit 2 with ONE error ``samstream CMD: error: ...``; never a
traceback, never a hang (live sources are never given without --max-frames)."""

from __future__ import annotations

import string

import cv2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from relhelpers import examples, tally

from samstream.cli import main
from samstream.sources import SyntheticScene

TRIED: dict[str, set] = {}
BAD: dict[str, set] = {}

TEXT = st.text(alphabet=string.ascii_letters + string.digits + ",.:@-_/ ", max_size=20)
PROMPT = st.one_of(TEXT, st.sampled_from(["box:1,1,30,30@1", "point:10,10", "neg:5,5@1", "box:0,0,0,0", "point:-1,5",
                                          "box:1,1,9999,9999@2", "point:10,10@0", "point:10,10@256", "box:30,30,1,1"]))
SOURCE = st.sampled_from(["synthetic:64x48@30,realtime=0,frames=3", "synthetic:64x48@30,frames=3", "synthetic:0x0",
                          "synthetic:64x48,bogus=1", "synthetic:64x48,objects=99", "/dev/video57", "57", "-1",
                          "nope.mp4", "nope/", "*.nothing", "/etc/hostname", "synthetic:64x48@0"])
OPTION = st.one_of(
    st.tuples(st.just("--prompt"), PROMPT),
    st.tuples(st.just("--auto-objects"), st.sampled_from(["-1", "0", "1", "256", "x", ""])),
    st.tuples(st.just("--max-frames"), st.sampled_from(["-3", "0", "1", "2", "x", ""])),
    st.tuples(st.just("--ros2-qos"), st.sampled_from(["sensor", "bogus:3", "default:0"])),
    st.tuples(st.just("--ros2-namespace"), TEXT),
    st.tuples(st.just("--record"), st.sampled_from(["{tmp}/r.txt", "{tmp}/nofolder/r.mcap", "{tmp}/r.mcap"])),
    st.tuples(st.just("--out"), st.sampled_from(["{tmp}/o.xyz", "{tmp}/nofolder/o.mp4", "{tmp}/o.avi"])),
    st.tuples(st.just("--init-mask"), st.sampled_from(["{tmp}/none.png", "{tmp}/text.png", "{tmp}/gt.png"])),
    st.tuples(st.just("--model"), st.sampled_from(["classic", "classic@random", "nope", "mobilesam", "", "@", "a@b"])),
    st.tuples(st.just("--precision"), st.sampled_from(["fp16", "fp64", ""])),
    st.tuples(st.just("--ros2-overlay"), st.just(None)),
)


def _argv(opts, tmp) -> list[str]:
    out = []
    for name, value in opts:
        out.append(name)
        if value is not None:
            out.append(value.format(tmp=tmp))
    return out


def _check(capsys, argv, entry: str) -> None:
    TRIED.setdefault(entry, set()).add(tuple(argv))
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse: usage line + "error:" line, exit 2
        err = capsys.readouterr().err
        assert exc.code == 2 and "error:" in err and "Traceback" not in err, (argv, err)
        BAD.setdefault(entry, set()).add(tuple(argv))
        return
    err = capsys.readouterr().err
    assert rc in (0, 2), (argv, rc, err)
    if rc == 2:
        # one error: one "samstream CMD: error: ..." line (its message may go on with a list of choices)
        head = [ln for ln in err.splitlines() if ln.startswith(f"samstream {argv[0]}: error: ")]
        assert len(head) == 1 and len(head[0]) > 30 and "Traceback" not in err, (argv, err)
        BAD.setdefault(entry, set()).add(tuple(argv))


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_fuzz")
    (d / "text.png").write_text("not a png")
    cv2.imwrite(str(d / "gt.png"), SyntheticScene(64, 48, 3, 0, 1.0).render(0)[1])
    return d


@settings(max_examples=examples(120))
@given(source=SOURCE, opts=st.lists(OPTION, max_size=4))
def test_run_options(capsys, tmp, source, opts):
    argv = ["run", "--source", source, "-q", *_argv(opts, tmp)]
    if "frames=3" not in source:
        argv += ["--max-frames", "2"]  # last wins: a live source always ends
    _check(capsys, argv, "samstream run options")


@settings(max_examples=examples(80))
@given(points=st.lists(st.tuples(st.sampled_from(["--point", "--neg-point", "--box"]),
                                 st.one_of(TEXT, st.sampled_from(["10,10", "-5,3", "1e9,1", "nan,1", "1,2,3,4", "0,0,63,47",
                                                                  "60,40,1,1", "inf,0,1,1"]))), max_size=3),
       extra=st.lists(st.sampled_from(["--everything", "--multimask", "--model", "nope"]), max_size=2))
def test_segment_options(capsys, tmp, points, extra):
    img = tmp / "img.png"
    if not img.is_file():
        cv2.imwrite(str(img), SyntheticScene(64, 48, 3, 0, 1.0).render(0)[0])
    argv = ["segment", str(img), "-o", str(tmp / "m.png")] + [a for pair in points for a in pair] + extra
    _check(capsys, argv, "samstream segment options")


@settings(max_examples=examples(30))
@given(port=st.sampled_from(["0", "-1", "65536", "99999", "x", ""]))
def test_demo_port(capsys, port):
    pytest.importorskip("gradio")
    _check(capsys, ["demo", "--port", port], "samstream demo --port")


def test_zz_tally():
    for entry, argvs in sorted(TRIED.items()):
        tally(entry, argvs, "hypothesis, in-process main()", rejected=BAD.get(entry, set()))
    assert TRIED
