"""The frame stamp (frame number + capture time in the pixels) survives JPEG and rejects damage."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from samstream.ui.stamp import block_size, decode_stamp, encode_stamp


@pytest.mark.parametrize("w,h", [(640, 480), (512, 516), (160, 120)])
def test_stamp_survives_jpeg(w, h, rng):
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    ts = 1_764_000_123.456
    encode_stamp(img, 123_456, ts)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 70])
    back = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decode_stamp(back) == (123_456, int(round(ts * 1000)) % (1 << 32))


def test_stamp_absent_or_damaged_is_none(rng):
    img = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert decode_stamp(img) is None or decode_stamp(img) != (5, 5)  # random pixels: checksum fails
    encode_stamp(img, 5, 0.005)
    assert decode_stamp(img) == (5, 5)
    b = block_size(640)
    img[-b:, 10 * b: 11 * b] = 255 - img[-b:, 10 * b: 11 * b]  # flip one bit of the index
    assert decode_stamp(img) is None
    assert decode_stamp(np.zeros((480, 40, 3), np.uint8)) is None  # too narrow to carry one
