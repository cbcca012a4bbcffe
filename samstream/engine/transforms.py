"""Geometry shared by every backend: the SAM "resize longest side, pad bottom/right" frame.

SAM-family encoders see a square ``S x S`` input (``S`` = 1024 for MobileSAM/SAM): the frame is
scaled so its longest side is ``S`` (PIL bilinear, as segment-anything's ``ResizeLongestSide``) and,
after normalisation, padded with zeros at the bottom/right (inside the encoder IR). Decoders answer with
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

    def resize(self, image: np.ndarray) -> np.ndarray:
        """``uint8 (H, W, 3)`` -> ``uint8 (h, w, 3)`` with ``(h, w) = resized_hw`` (longest side ``S``), unpadded.

        Exactly the official predictor's resize: segment-anything's ``ResizeLongestSide.apply_image``
        is torchvision's ``resize`` of a PIL image, i.e. PIL's bilinear filter (antialiased when it
        shrinks). The channel order is kept (each channel is resized on its own).
        """
        from PIL import Image

        nh, nw = self.resized_hw
        img = np.ascontiguousarray(image)
        if (nh, nw) == img.shape[:2]:
            return img
        return np.asarray(Image.fromarray(img).resize((nw, nh), Image.BILINEAR))

    def resize_pad(self, image: np.ndarray, pad_value: tuple[float, float, float]) -> np.ndarray:
        """``uint8 (H, W, 3)`` -> ``uint8 (S, S, 3)``: resized (area/linear) and padded with ``pad_value``.

        The input of encoder IRs exported before samstream padded inside the IR (``ir_version`` 1).
        """
        nh, nw = self.resized_hw
        interp = cv2.INTER_AREA if nh < image.shape[0] else cv2.INTER_LINEAR
        resized = cv2.resize(image, (nw, nh), interpolation=interp)
        return cv2.copyMakeBorder(
            resized, 0, self.side - nh, 0, self.side - nw, cv2.BORDER_CONSTANT,
            value=tuple(float(v) for v in pad_value),
        )

    def logits_to_frame(self, logits: np.ndarray) -> np.ndarray:
        """Low-res logits ``(C, L, L)`` -> logits ``(C, H, W)`` float32 in the original frame.

        The same two bilinear resizes as segment-anything's ``postprocess_masks``, the first one
        restricted to the valid (unpadded) region.
        """
        logits = np.asarray(logits, dtype=np.float32)
        nh, nw = self.resized_hw
        h, w = self.orig_hw
        # SAM's postprocess_masks: bilinear L -> S (half-pixel centres), crop the valid (nh, nw),
        # bilinear to (H, W). Stage 1 is computed only over the low-res rows/columns the valid region
        # reads (plus one), at exactly the same scale, so its values are SAM's, at a fraction of the cost.
        k = self.side / self.low_res
        rh = min(self.low_res, int(np.ceil(nh / k)) + 1)
        rw = min(self.low_res, int(np.ceil(nw / k)) + 1)
        out = np.empty((logits.shape[0], h, w), dtype=np.float32)
        for i, lg in enumerate(logits):
            up = cv2.resize(np.ascontiguousarray(lg[:rh, :rw]), (int(round(rw * k)), int(round(rh * k))),
                            interpolation=cv2.INTER_LINEAR)
            out[i] = cv2.resize(np.ascontiguousarray(up[:nh, :nw]), (w, h), interpolation=cv2.INTER_LINEAR)
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
