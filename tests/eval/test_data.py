"""The mask reader and the DAVIS-layout loader (samstream.eval.data)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from evalhelpers import write_sequence

from samstream.eval import load_sequences, read_mask


def test_palette_png_read_as_indices(tmp_path):
    Image = pytest.importorskip("PIL.Image", reason="palette PNG masks are read with Pillow")

    ids = np.zeros((8, 9), np.uint8)
    ids[1:4, 1:4] = 1
    ids[5:7, 5:8] = 2
    img = Image.fromarray(ids, mode="P")
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (253 * 3))
    path = tmp_path / "00000.png"
    img.save(path)
    assert Image.open(path).mode == "P"
    # OpenCV alone would give colours (BGR (0, 0, 128) for index 1), not ids
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).ndim == 3
    got = read_mask(path)
    assert got.shape == (8, 9) and got.ndim == 2
    assert np.array_equal(got, ids)
    assert got[2, 2] == 1  # not 128, not a colour


def test_binary_255_means_object_1_and_ids_are_kept(tmp_path):
    m = np.zeros((6, 7), np.uint8)
    m[1:3, 2:5] = 255
    cv2.imwrite(str(tmp_path / "a.png"), m)
    got = read_mask(tmp_path / "a.png")
    assert set(np.unique(got).tolist()) == {0, 1}
    assert np.array_equal(got == 1, m == 255)
    cv2.imwrite(str(tmp_path / "b.png"), (m > 0).astype(np.uint8))  # 0/1
    assert np.array_equal(read_mask(tmp_path / "b.png"), (m > 0).astype(np.uint8))
    multi = m.copy() // 255
    multi[4:6, 0:2] = 2
    cv2.imwrite(str(tmp_path / "c.png"), multi)
    assert set(np.unique(read_mask(tmp_path / "c.png")).tolist()) == {0, 1, 2}


def test_colour_mask_rejected(tmp_path):
    rgb = np.zeros((5, 5, 3), np.uint8)
    rgb[1, 1] = (0, 0, 128)
    cv2.imwrite(str(tmp_path / "x.png"), rgb)
    with pytest.raises(ValueError, match="palette"):
        read_mask(tmp_path / "x.png")


def test_loader_layout_and_errors(tmp_path):
    write_sequence(tmp_path / "data")
    (tmp_path / "data" / "README.txt").write_text("not a sequence")
    seqs = load_sequences(tmp_path / "data")
    assert [s.name for s in seqs] == ["toy"]
    s = seqs[0]
    assert len(s) == 6 and s.annotated == [0, 1, 2, 4, 5] and s.read_mask(3) is None
    assert s.object_ids() == [1, 2]
    assert s.read_frame(0).shape == (40, 48, 3)
    assert len(load_sequences(tmp_path / "data", max_frames=2)[0]) == 2
    assert load_sequences(tmp_path / "data" / "toy")[0].name == "toy"  # a single sequence folder

    with pytest.raises(FileNotFoundError, match="frames"):
        load_sequences(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no sequence folders"):
        load_sequences(tmp_path / "empty")
    (tmp_path / "bad" / "seq" / "frames").mkdir(parents=True)
    with pytest.raises(ValueError, match="masks/"):
        load_sequences(tmp_path / "bad")
    with pytest.raises(ValueError, match="available"):
        load_sequences(tmp_path / "data", names=["nothere"])
    cv2.imwrite(str(tmp_path / "data" / "toy" / "masks" / "00099.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="same stem"):
        load_sequences(tmp_path / "data")
