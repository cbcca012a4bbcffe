"""The predictor contract every backend implements (SAM's ``SamPredictor``, generalised).

A :class:`Predictor` owns one cached image embedding. Typical use::

    predictor.set_image(frame_bgr)                      # encode once (slow part)
    masks, scores, low_res = predictor.predict(          # decode many times (cheap)
        point_coords=[[320, 240]], point_labels=[1], multimask_output=True)

Live pipelines split the two halves: :meth:`Predictor.encode` (or an asynchronous encoder)
produces an :class:`Embedding`, and :meth:`Predictor.set_embedding` installs it.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Optional, Protocol, Sequence

import numpy as np

from ..types import Prompt, as_box, as_image, as_points
from .transforms import SquareFrame

PredictOutput = tuple[np.ndarray, np.ndarray, np.ndarray]


class DecoderPrompt(NamedTuple):
    """One object's prompt as the decoder takes it (all in original-frame pixels).

    Attributes:
        points: ``(N, 2)`` float32 ``(x, y)`` or ``None``.
        labels: ``(N,)`` int32, 1 include / 0 exclude, or ``None``.
        box: ``(4,)`` float32 ``x1, y1, x2, y2`` or ``None``.
        mask_input: ``(1, L, L)`` float32 low-res logits (``L`` = ``Predictor.low_res_side``) or ``None``.
    """

    points: Optional[np.ndarray] = None
    labels: Optional[np.ndarray] = None
    box: Optional[np.ndarray] = None
    mask_input: Optional[np.ndarray] = None


@dataclass
class Embedding:
    """What an encoder produced for one frame.

    Attributes:
        features: backend-specific named arrays (SAM: ``{"image_embeddings": (1, 256, 64, 64)}``;
            classic: the frame itself).
        frame: the square-frame geometry of the encoded image.
        frame_index: index of the encoded frame (``-1`` when unknown).
        timestamp: capture timestamp of the encoded frame (seconds).
        latency_ms: encoder wall time for this frame, in milliseconds.
    """

    features: dict[str, np.ndarray]
    frame: SquareFrame
    frame_index: int = -1
    timestamp: float = 0.0
    latency_ms: float = 0.0

    @property
    def orig_hw(self) -> tuple[int, int]:
        return self.frame.orig_hw


#: ``on_done(handle, embedding, error)``: how a backend's asynchronous requests report back
#: (exactly one of ``embedding`` / ``error`` is ``None``).
DoneCallback = Callable[[Any, Optional["Embedding"], Optional[BaseException]], None]


class AsyncRequests(Protocol):
    """A backend's own asynchronous encoder requests (an ``openvino.AsyncInferQueue``, a model
    server's asynchronous client), as :class:`~samstream.engine.encoder.AsyncEncoder` drives them.

    ``start`` returns at once; the backend later calls the ``on_done`` callback it was made with,
    passing the same ``handle`` as userdata. At most ``jobs`` requests run at a time.
    """

    jobs: int

    def start(self, image: np.ndarray, handle: Any) -> None: ...

    def wait_all(self) -> None: ...


class Predictor(abc.ABC):
    """The SamPredictor contract. Subclasses implement :meth:`encode` and :meth:`_decode`."""

    #: short backend name shown in stats and UIs (``"classic"``, ``"mobilesam"``, ...)
    name: str = "predictor"
    #: encoder input side ``S`` and decoder low-res side ``L`` (see :class:`SquareFrame`)
    input_side: int = 1024
    low_res_side: int = 256

    # -- capabilities: ask these, never the class or the name ---------------------------------
    #: feeding a previous call's ``low_res_logits`` back as ``mask_input`` refines the next
    #: decode (SAM: yes; the classic backend re-derives its prior from the mask itself: no).
    reuses_low_res_logits: bool = True
    #: the predictor has its own :meth:`everything` (segment-everything without a point grid).
    has_everything: bool = False

    def async_requests(self, jobs: int, on_done: DoneCallback) -> Optional[AsyncRequests]:
        """The backend's own asynchronous encoder requests, or ``None`` (the default) when
        :meth:`encode` should simply run on the encoder's worker thread."""
        return None

    def everything(self, image: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Masks of every object in ``image`` (only where :attr:`has_everything`); otherwise use
        :class:`samstream.engine.everything.MaskGenerator`."""
        raise NotImplementedError(
            f"{self.name} has no built-in everything(): use samstream.engine.everything.MaskGenerator(predictor)."
        )

    def __init__(self) -> None:
        self._embedding: Optional[Embedding] = None

    # -- encoding -------------------------------------------------------------------------
    @abc.abstractmethod
    def encode(self, image: np.ndarray, frame_index: int = -1, timestamp: float = 0.0) -> Embedding:
        """Encode a ``uint8 (H, W, 3)`` BGR image synchronously."""

    def set_image(self, image: np.ndarray) -> None:
        """Encode ``image`` (``uint8 (H, W, 3)`` BGR, any size) and cache the embedding."""
        self.set_embedding(self.encode(as_image(image, "image")))

    def set_embedding(self, embedding: Embedding) -> None:
        """Install an embedding made by :meth:`encode` or an asynchronous encoder."""
        if not isinstance(embedding, Embedding):
            raise ValueError(f"set_embedding needs an Embedding, got {type(embedding).__name__}.")
        self._embedding = embedding

    def reset_image(self) -> None:
        self._embedding = None

    @property
    def is_image_set(self) -> bool:
        return self._embedding is not None

    @property
    def embedding(self) -> Embedding:
        if self._embedding is None:
            raise RuntimeError("no image is set: call set_image(frame) (or set_embedding) before predict().")
        return self._embedding

    @property
    def original_size(self) -> tuple[int, int]:
        """``(H, W)`` of the image whose embedding is cached."""
        return self.embedding.orig_hw

    def square_frame(self, orig_hw: tuple[int, int]) -> SquareFrame:
        return SquareFrame(orig_hw=tuple(int(v) for v in orig_hw), side=self.input_side, low_res=self.low_res_side)

    # -- decoding -------------------------------------------------------------------------
    def predict(
        self,
        point_coords: Optional[np.ndarray] = None,
        point_labels: Optional[np.ndarray] = None,
        box: Optional[np.ndarray] = None,
        mask_input: Optional[np.ndarray] = None,
        multimask_output: bool = True,
        return_logits: bool = False,
    ) -> PredictOutput:
        """Masks for one object from its prompts, on the cached image.

        Args:
            point_coords: ``(N, 2)`` float, ``(x, y)`` in original-frame pixels.
            point_labels: ``(N,)`` int, 1 include / 0 exclude.
            box: ``(4,)`` ``x1, y1, x2, y2`` in original-frame pixels.
            mask_input: ``(1, L, L)`` low-res logits from a previous call (``L`` =
                :attr:`low_res_side`, covering the padded square; see ``SquareFrame``).
            multimask_output: 3 candidate masks when ``True`` (best for one ambiguous click),
                else 1.
            return_logits: return float logits instead of bool masks.

        Returns:
            ``masks`` ``(C, H, W)`` bool (or float32 logits), ``scores`` ``(C,)`` float32 predicted
            IoU, ``low_res_logits`` ``(C, L, L)`` float32; ``C`` = 3 or 1.
        """
        out = self.predict_batch(
            [(point_coords, point_labels, box, mask_input)], multimask_output, return_logits
        )
        return out[0]

    def predict_batch(
        self,
        prompts: Sequence[Any],
        multimask_output: bool = False,
        return_logits: bool = False,
    ) -> list[PredictOutput]:
        """Several objects' prompts in one decoder call.

        Each item is a :class:`~samstream.types.Prompt` or a :class:`DecoderPrompt` (any 4-tuple
        ``(point_coords, point_labels, box, mask_input)``). Returns one ``predict`` triple per item.
        """
        return self.predict_on(self.embedding, prompts, multimask_output, return_logits)

    def predict_on(
        self,
        embedding: Embedding,
        prompts: Sequence[Any],
        multimask_output: bool = False,
        return_logits: bool = False,
    ) -> list[PredictOutput]:
        """Like :meth:`predict_batch`, on a given embedding, leaving the cached one untouched.

        Safe to call from a worker thread while another thread uses the cached image.
        """
        if not isinstance(embedding, Embedding):
            raise ValueError(f"predict_on needs an Embedding, got {type(embedding).__name__}.")
        h, w = embedding.orig_hw
        checked = [self._check_prompt(p, w, h, embedding) for p in prompts]
        if not checked:
            return []
        return self._decode(embedding, checked, multimask_output, return_logits)

    def _check_prompt(self, p: Any, w: int, h: int, emb: Embedding) -> DecoderPrompt:
        if isinstance(p, Prompt):
            pts, lab, box, mask_in = p.points, p.labels, p.box, None
            if p.mask is not None:
                if p.mask.shape != (h, w):
                    raise ValueError(
                        f"mask prompt is {p.mask.shape[1]}x{p.mask.shape[0]} but the frame is {w}x{h}: "
                        "resize it with cv2.INTER_NEAREST first."
                    )
                mask_in = emb.frame.mask_to_logits(p.mask)
        else:
            if not isinstance(p, (tuple, list)) or len(p) != 4:
                raise ValueError(
                    "each prompt must be a Prompt or a tuple (point_coords, point_labels, box, mask_input)."
                )
            pts, lab, box, mask_in = p
        pts, lab = as_points(pts, lab, w, h)
        box = as_box(box, w, h)
        if mask_in is not None:
            mask_in = np.asarray(mask_in, dtype=np.float32)
            if mask_in.ndim == 2:
                mask_in = mask_in[None]
            L = self.low_res_side
            if mask_in.shape != (1, L, L):
                raise ValueError(
                    f"mask_input has shape {mask_in.shape}: expected (1, {L}, {L}) low-res logits, "
                    "i.e. one of the low_res_logits returned by predict()."
                )
            if not np.all(np.isfinite(mask_in)):
                raise ValueError("mask_input contains NaN or inf: pass the low_res_logits from predict().")
        if pts is None and box is None and mask_in is None:
            raise ValueError("empty prompt: give point_coords + point_labels, a box, or a mask_input.")
        return DecoderPrompt(pts, lab, box, mask_in)

    @abc.abstractmethod
    def _decode(
        self,
        emb: Embedding,
        prompts: list[DecoderPrompt],
        multimask_output: bool,
        return_logits: bool,
    ) -> list[PredictOutput]:
        """Decode validated :class:`DecoderPrompt` s (fields already checked against the frame)."""

    def describe(self) -> dict[str, Any]:
        """A small dict for stats/UI: backend name, precision, weights provenance."""
        return {"model": self.name}
