"""Geometry shared by every backend: the SAM "resize longest side, pad bottom/right" frame.

SAM-family encoders see a square ``S x S`` input (``S`` = 1024 for MobileSAM/SAM): the frame is
scaled so its longest side is ``S`` and padded at the bottom/right. Decoders answer with
low-resolution logits ``(C, L, L)`` (``L = 256`` for ``S = 1024``) covering that padded square.
These helpers convert between the original frame and those two frames, and are used by the
OpenVINO predictor *and* the classic backend, so ``low_res_logits`` mean the same thing for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# SAM's pixel statistics (RGB order), used for normalisation and for the neutral pad colour.
PIXEL_MEAN_RGB = (123.675, 116.28, 103.53)
PIXEL_STD_RGB = (58.395, 57.12, 57.375)


@dataclass(frozen=True)
class SquareFrame:
    """The mapping of one ``(H, W)`` frame into the encoder's ``S x S`` square.

    Attributes:
        orig_hw: original frame ``(H, W)``.
        side: encoder input side ``S`` in pixels.
        low_res: decoder logit side ``L`` (``S / 4``).
    """

    orig_hw: tuple[int, int]
    side: int = 1024
    low_res: int = 256

    @property
    def scale(self) -> float:
        return self.side / float(max(self.orig_hw))

    @property
    def resized_hw(self) -> tuple[int, int]:
        """Size of the frame inside the square, before padding (same rounding as SAM)."""
        h, w = self.orig_hw
        s = self.scale
        return int(h * s + 0.5), int(w * s + 0.5)

    def to_input(self, xy: np.ndarray) -> np.ndarray:
        """Frame pixel coords ``(..., 2)`` -> encoder-input coords (float32)."""
        h, w = self.orig_hw
        nh, nw = self.resized_hw
        out = np.asarray(xy, dtype=np.float32).copy()
        out[..., 0] *= nw / w
        out[..., 1] *= nh / h
        return out

    def resize_pad(self, image: np.ndarray, pad_value: tuple[float, float, float]) -> np.ndarray:
        """``uint8 (H, W, 3)`` -> ``uint8 (S, S, 3)``: resized (area/linear) and padded with ``pad_value``."""
        nh, nw = self.resized_hw
        interp = cv2.INTER_AREA if nh < image.shape[0] else cv2.INTER_LINEAR
        resized = cv2.resize(image, (nw, nh), interpolation=interp)
        return cv2.copyMakeBorder(
            resized, 0, self.side - nh, 0, self.side - nw, cv2.BORDER_CONSTANT,
            value=tuple(float(v) for v in pad_value),
        )

    def logits_to_frame(self, logits: np.ndarray) -> np.ndarray:
        """Low-res logits ``(C, L, L)`` -> logits ``(C, H, W)`` float32 in the original frame.

        Only the valid (unpadded) region is upsampled, with one bilinear resize per mask.
        """
        logits = np.asarray(logits, dtype=np.float32)
        nh, nw = self.resized_hw
        vh = max(1, int(round(nh * self.low_res / self.side)))
        vw = max(1, int(round(nw * self.low_res / self.side)))
        h, w = self.orig_hw
        out = np.empty((logits.shape[0], h, w), dtype=np.float32)
        for i, lg in enumerate(logits):
            out[i] = cv2.resize(lg[:vh, :vw], (w, h), interpolation=cv2.INTER_LINEAR)
        return out

    def mask_to_logits(self, mask: np.ndarray, magnitude: float = 8.0) -> np.ndarray:
        """A frame mask ``(H, W)`` (bool or probability in [0, 1]) -> ``(1, L, L)`` logits.

        The inverse of :meth:`logits_to_frame`; the padded area gets ``-magnitude``.
        """
        m = np.asarray(mask, dtype=np.float32)
        nh, nw = self.resized_hw
        vh = max(1, int(round(nh * self.low_res / self.side)))
        vw = max(1, int(round(nw * self.low_res / self.side)))
        small = cv2.resize(m, (vw, vh), interpolation=cv2.INTER_AREA)
        out = np.full((1, self.low_res, self.low_res), -magnitude, dtype=np.float32)
        out[0, :vh, :vw] = (small * 2.0 - 1.0) * magnitude
        return out
