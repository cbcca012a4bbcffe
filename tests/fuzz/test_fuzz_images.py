"""Image files as samstream reads them: through the folder/file source (a stream keeps going, bad
files skipped and counted), ``samstream segment`` (a result or one error line, never a traceback)
and ``--init-mask`` (``read_mask``: a label map or one ``ValueError``).

The files: truncated JPEG/PNG/WebP at several cut points, 1x1, 10000x10000, 16-bit colour and grey,
RGBA, grey, palette PNG, empty, random bytes and text under image names, a PNG whose header claims
100000x100000 pixels, and Hypothesis byte mutations (flips, cuts, splices) of a valid JPEG and PNG.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from relhelpers import examples, tally

from samstream.cli import main
from samstream.sources import ImageFolderSource, SyntheticScene

W, H = 160, 120
GOOD = SyntheticScene(W, H, 3, 3, 1.0).render(0)[0]
_, JPEG = cv2.imencode(".jpg", GOOD)
_, PNG = cv2.imencode(".png", GOOD)
JPEG, PNG = JPEG.tobytes(), PNG.tobytes()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _lying_png(w: int, h: int) -> bytes:
    """A PNG whose header says ``w`` x ``h`` but whose data is a few bytes."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b"")


def bad_files(folder: Path) -> dict[str, Path]:
    """Write every hand-made case into ``folder``; name -> path."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        out[name] = folder / name

    for frac in (0.0, 0.02, 0.1, 0.5, 0.9, 0.99):
        put(f"trunc_{int(frac * 100):02d}.jpg", JPEG[: int(len(JPEG) * frac)])
        put(f"trunc_{int(frac * 100):02d}.png", PNG[: int(len(PNG) * frac)])
    _, webp = cv2.imencode(".webp", GOOD)
    put("trunc_50.webp", webp.tobytes()[: len(webp) // 2])
    put("empty.png", b"")
    put("random.jpg", np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    put("text.png", b"this is not an image\n" * 20)
    put("lying_header.png", _lying_png(100000, 100000))
    put("bad_bmp.bmp", b"BM" + b"\xff" * 60)
    cases = {
        "1x1.png": np.full((1, 1, 3), 200, np.uint8),
        "1x1.jpg": np.full((1, 1, 3), 200, np.uint8),
        "huge_10000x10000.png": np.zeros((10000, 10000, 3), np.uint8),
        "deep16.png": (GOOD.astype(np.uint16) * 257),
        "grey16.png": (cv2.cvtColor(GOOD, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257),
        "alpha.png": np.dstack([GOOD, np.full((H, W), 128, np.uint8)]),
        "grey.png": cv2.cvtColor(GOOD, cv2.COLOR_BGR2GRAY),
        "grey.jpg": cv2.cvtColor(GOOD, cv2.COLOR_BGR2GRAY),
        "float32.tiff": GOOD.astype(np.float32) / 255.0,
    }
    for name, img in cases.items():
        assert cv2.imwrite(str(folder / name), img), name
        out[name] = folder / name
    Image.fromarray(cv2.cvtColor(GOOD, cv2.COLOR_BGR2RGB)).convert("P").save(folder / "palette.png")
    out["palette.png"] = folder / "palette.png"
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return bad_files(tmp_path_factory.mktemp("badimages"))


def test_a_folder_stream_skips_and_counts_every_bad_image(tmp_path, files):
    """good, bad, good, bad, ...: every good frame is delivered, every unusable one counted."""
    seq = []
    for i, (name, path) in enumerate(sorted(files.items())):
        good = tmp_path / f"{2 * i:04d}_good.png"
        cv2.imwrite(str(good), GOOD)
        link = tmp_path / f"{2 * i + 1:04d}_{name}"
        link.write_bytes(path.read_bytes())
        seq += [good, link]
    src = ImageFolderSource(tmp_path)
    frames = list(src)
    st_ = src.stats()
    # decodable at the first frame's size: 16-bit, alpha, grey, palette, float TIFF, and a JPEG cut
    # after its header (decoded with the missing part grey); the others are skipped and counted
    unusable = {"1x1.png", "1x1.jpg", "huge_10000x10000.png", "empty.png", "random.jpg", "text.png",
                "lying_header.png", "bad_bmp.bmp", "trunc_00.jpg", "trunc_00.png", "trunc_02.png", "trunc_50.png"}
    assert len(frames) == len(seq) - st_.bad_frames and len(frames) >= len(files), (len(frames), st_)
    assert st_.frames_read + st_.bad_frames == len(seq), st_
    assert st_.bad_frames >= len(unusable) and st_.last_error
    assert all(f.image.shape == (H, W, 3) and f.image.dtype == np.uint8 for f in frames)
    tally("image files in a folder stream (ImageFolderSource)", files, "hand-made: truncated, 1x1, 10000x10000, 16-bit, "
          "alpha, grey, palette, float TIFF, empty, random, lying header",
          rejected=[n for n in files])


@pytest.mark.parametrize("name", ["trunc_00.jpg", "trunc_10.png", "trunc_50.jpg", "trunc_50.webp", "empty.png",
                                  "random.jpg", "text.png", "lying_header.png", "bad_bmp.bmp", "1x1.png", "1x1.jpg",
                                  "huge_10000x10000.png", "deep16.png", "grey16.png", "alpha.png", "grey.png",
                                  "palette.png", "float32.tiff"])
def test_a_single_image_file_source(files, name):
    try:
        src = ImageFolderSource(files[name])
    except FileNotFoundError as exc:  # pragma: no cover - exists: the file is there
        pytest.fail(f"{name}: {exc}")
    frames = list(src)
    st_ = src.stats()
    if frames:
        assert len(frames) == 1 and frames[0].image.dtype == np.uint8 and frames[0].image.ndim == 3
    else:
        assert st_.bad_frames == 1 and st_.state == "failed" and "could be decoded" in (st_.error or ""), st_


SEGMENT_OK = {"1x1.png", "1x1.jpg", "deep16.png", "grey16.png", "alpha.png", "grey.png", "grey.jpg", "palette.png",
              "float32.tiff", "trunc_90.jpg", "trunc_99.jpg", "trunc_50.jpg"}


@pytest.mark.parametrize("name", sorted(set(["trunc_00.jpg", "trunc_02.png", "trunc_50.jpg", "trunc_50.png",
                                             "trunc_50.webp", "empty.png", "random.jpg", "text.png",
                                             "lying_header.png", "bad_bmp.bmp"]) | (SEGMENT_OK - {"float32.tiff"})))
def test_samstream_segment_answers_with_a_mask_or_one_error_line(files, tmp_path, capsys, name):
    out = tmp_path / "mask.png"
    rc = main(["segment", str(files[name]), "--point", "0,0", "-o", str(out)])
    err = capsys.readouterr().err
    if rc == 0:
        m = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
        src = cv2.imread(str(files[name]), cv2.IMREAD_COLOR)
        assert m is not None and m.shape[:2] == src.shape[:2]
    else:
        assert rc == 2, err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert lines and lines[-1].startswith("samstream segment: error: ") and "Traceback" not in err, err


def test_init_mask_reader(files):
    from samstream.eval import read_mask

    for name, path in files.items():
        if name.startswith("huge"):
            continue
        try:
            m = read_mask(path)
        except (ValueError, FileNotFoundError) as exc:
            assert len(str(exc)) > 15
            continue
        assert m.ndim == 2 and m.dtype in (np.uint8, np.uint16)


MUTATED: set = set()
MUTATED_BAD: set = set()


@settings(max_examples=examples(250))
@given(base=st.sampled_from(["jpg", "png"]),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1)),
       splice=st.one_of(st.none(), st.binary(max_size=64)))
def test_mutated_jpeg_and_png_bytes(tmp_path_factory, base, flips, cut, splice):
    data = bytearray(JPEG if base == "jpg" else PNG)
    for pos, val in flips:
        data[min(int(pos * len(data)), len(data) - 1)] = val
    if splice is not None:
        at = len(data) // 2
        data[at:at] = splice
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp_path_factory.getbasetemp() / f"mutated.{base}"
    path.write_bytes(bytes(data))
    MUTATED.add(bytes(data))
    src = ImageFolderSource(path)
    frames = list(src)
    if frames:
        assert frames[0].image.dtype == np.uint8 and frames[0].image.shape[2] == 3
    else:
        assert src.stats().bad_frames == 1
        MUTATED_BAD.add(bytes(data))


def test_zz_tally():
    tally("mutated JPEG/PNG bytes (ImageFolderSource)", MUTATED, "hypothesis: byte flips, cuts, splices",
          rejected=MUTATED_BAD)
    assert MUTATED
