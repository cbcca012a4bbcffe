"""A frame number and capture time written into the pixels of every displayed frame.

The live view draws a strip of 64 black/white blocks along the bottom-left edge of each frame
it sends to the browser: 24 bits of frame index, the low 32 bits of the capture time in
milliseconds (``time.time()`` clock), and an 8-bit checksum. Blocks are ``block_size(width)``
pixels square (8 at 512 px wide and more), large enough to survive JPEG compression, so the page
(and a test reading a screenshot) can tell exactly which frame it shows and how old it is:
``Date.now() - capture_ms`` is the capture-to-display latency. ``STAMP_JS`` is the same decoder
in JavaScript.

Only numpy here (no OpenCV, no Gradio).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["BITS", "block_size", "encode_stamp", "decode_stamp", "STAMP_JS"]

BITS = 64
_INDEX_BITS, _MS_BITS = 24, 32


def block_size(width: int) -> int:
    """Side in pixels of one stamp block for a frame ``width`` pixels wide (0 = too narrow)."""
    return int(min(8, int(width) // BITS))


def _checksum(index: int, ms: int) -> int:
    data = int(index).to_bytes(3, "big") + int(ms).to_bytes(4, "big")
    return (sum(data) + 0x5A) & 0xFF


def _bits(index: int, ms: int) -> np.ndarray:
    word = (int(index) % (1 << _INDEX_BITS)) << 40 | (int(ms) % (1 << _MS_BITS)) << 8 | _checksum(
        int(index) % (1 << _INDEX_BITS), int(ms) % (1 << _MS_BITS))
    return np.array([(word >> (BITS - 1 - i)) & 1 for i in range(BITS)], dtype=np.uint8)


def encode_stamp(image: np.ndarray, index: int, timestamp: float) -> np.ndarray:
    """Write the stamp of frame ``index`` captured at ``timestamp`` (seconds) into ``image`` in place.

    ``image`` is ``uint8`` ``(H, W, 3)``; frames narrower than 64 pixels or shorter than one block
    are left unchanged. Returns ``image``.
    """
    h, w = image.shape[:2]
    b = block_size(w)
    if b == 0 or h < b:
        return image
    ms = int(round(float(timestamp) * 1000.0))
    row = np.repeat(_bits(index, ms) * 255, b)  # (64 * b,)
    image[h - b:h, : BITS * b] = row[None, :, None]
    return image


def decode_stamp(image: np.ndarray) -> Optional[tuple[int, int]]:
    """``(frame_index mod 2**24, capture_ms mod 2**32)`` read from ``image``, or ``None`` if absent.

    Works on any channel order (the blocks are grey); samples the centre of each block.
    """
    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=2)
    h, w = img.shape[:2]
    b = block_size(w)
    if b == 0 or h < b:
        return None
    y = h - b + b // 2
    xs = np.arange(BITS) * b + b // 2
    bits = (img[y, xs] > 127).astype(np.uint64)
    word = 0
    for v in bits:
        word = (word << 1) | int(v)
    index, ms, check = word >> 40, (word >> 8) & 0xFFFFFFFF, word & 0xFF
    if _checksum(index, ms) != check:
        return None
    return int(index), int(ms)


#: ``samstreamDecodeStamp(src, canvas[, w, h])`` -> ``{index, ms}`` or ``null``: the decoder for the
#: page. ``src`` is an ``<img>`` (its natural size is used) or, with ``w, h`` (its pixel size), a
#: ``<video>`` or any other canvas image source.
STAMP_JS = """
function samstreamDecodeStamp(img, canvas, fw, fh) {
  const w = fw || img.naturalWidth, h = fh || img.naturalHeight;
  const b = Math.min(8, Math.floor(w / 64));
  if (!w || !h || b < 1 || h < b) return null;
  canvas.width = 64 * b; canvas.height = b;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(img, 0, h - b, 64 * b, b, 0, 0, 64 * b, b);
  const px = ctx.getImageData(0, 0, 64 * b, b).data;
  const y = Math.floor(b / 2);
  const bit = (i) => {
    const o = (y * 64 * b + i * b + Math.floor(b / 2)) * 4;
    return (px[o] + px[o + 1] + px[o + 2]) / 3 > 127 ? 1 : 0;
  };
  let index = 0, ms = 0, check = 0;
  for (let i = 0; i < 24; i++) index = index * 2 + bit(i);
  for (let i = 24; i < 56; i++) ms = ms * 2 + bit(i);
  for (let i = 56; i < 64; i++) check = check * 2 + bit(i);
  let sum = 0x5A;
  for (const v of [index >>> 16, (index >>> 8) & 255, index & 255,
                   Math.floor(ms / 16777216) & 255, Math.floor(ms / 65536) & 255,
                   Math.floor(ms / 256) & 255, ms & 255]) sum += v;
  if ((sum & 255) !== check) return null;
  return {index: index, ms: ms};
}
"""
