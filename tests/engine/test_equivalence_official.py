"""End to end against Meta's official ``segment_anything.SamPredictor`` on a NON-SQUARE frame.

Same weights (the tiny SAM, seed 0, exported by the ``tiny_export`` fixture), same prompts in frame
pixels, each side doing its own pre- and post-processing: the official predictor resizes with
``ResizeLongestSide`` (PIL bilinear), normalises, zero-pads, and upsamples the logits to the
frame; samstream resizes on the host and lets the IR normalise and zero-pad. Masks must agree
(IoU >= 0.99) and scores within 1e-3.
"""

from __future__ import annotations

import importlib
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [export] extra (torch)")

from samstream.engine.openvino_sam import OVSamModel, SamPredictor  # noqa: E402
from samstream.geometry import mask_iou  # noqa: E402


def _torchvision_pil_functions() -> types.ModuleType:
    """torchvision's two functions segment-anything imports, on their PIL path (used only when
    torchvision is absent: its wheels would replace this venv's CPU torch). For a PIL image
    ``torchvision.transforms.functional.resize(img, [h, w])`` is ``img.resize((w, h), BILINEAR)``
    and ``to_pil_image`` of a ``uint8 (H, W, 3)`` array is ``Image.fromarray`` in mode RGB."""
    from PIL import Image

    fn = types.ModuleType("torchvision.transforms.functional")
    fn.to_pil_image = lambda a: Image.fromarray(np.asarray(a), mode="RGB")
    fn.resize = lambda img, size: img.resize((int(size[1]), int(size[0])), Image.BILINEAR)
    return fn


@pytest.fixture(scope="module")
def official_predictor_cls():
    try:
        import torchvision  # noqa: F401
    except ImportError:
        fn = _torchvision_pil_functions()
        tv, tr = types.ModuleType("torchvision"), types.ModuleType("torchvision.transforms")
        tv.transforms, tr.functional = tr, fn
        saved = {k: sys.modules.get(k) for k in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")}
        sys.modules.update({"torchvision": tv, "torchvision.transforms": tr, "torchvision.transforms.functional": fn})
        try:
            yield importlib.import_module("segment_anything.predictor").SamPredictor
        finally:
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
        return
    yield importlib.import_module("segment_anything.predictor").SamPredictor


@pytest.fixture(scope="module")
def frame():
    from samstream.sources.synthetic import SyntheticScene

    img, _ = SyntheticScene(200, 120, seed=3).render(0)  # 120 x 200: non-square, upscaled to 77 x 128
    return img


PROMPTS = {
    "point": dict(point_coords=np.array([[50.0, 60.0]]), point_labels=np.array([1])),
    "point + exclude": dict(point_coords=np.array([[50.0, 60.0], [150.0, 30.0]]), point_labels=np.array([1, 0])),
    "box": dict(box=np.array([20.0, 10.0, 120.0, 100.0])),
    "box + point": dict(point_coords=np.array([[60.0, 50.0]]), point_labels=np.array([1]),
                        box=np.array([20.0, 10.0, 120.0, 100.0])),
}


@pytest.mark.parametrize("multimask", [True, False])
@pytest.mark.parametrize("case", list(PROMPTS))
def test_matches_official_sam_predictor_on_non_square_frame(tiny_export, tiny_torch_sam, official_predictor_cls,
                                                            frame, case, multimask):
    ours = SamPredictor(OVSamModel(tiny_export, precision="fp32"))
    ours.set_image(frame)
    ref = official_predictor_cls(tiny_torch_sam)
    ref.set_image(frame[:, :, ::-1].copy(), image_format="RGB")
    # the frame the official encoder saw is the one our IR padded: same resized size
    assert tuple(ref.input_size) == ours.model.encoder_input(frame).shape[1:3]
    kw = PROMPTS[case]
    with torch.no_grad():
        rmasks, rscores, _ = ref.predict(multimask_output=multimask, **kw)
    masks, scores, _ = ours.predict(multimask_output=multimask, **kw)
    assert masks.shape == rmasks.shape == ((3 if multimask else 1), 120, 200)
    np.testing.assert_allclose(scores, rscores, atol=1e-3)
    compared = 0
    for a, b in zip(masks, rmasks):
        if 50 < b.sum() < b.size - 50:  # IoU means something only for a mask that is neither empty nor full
            assert mask_iou(a, b, empty=0.0) >= 0.99
            compared += 1
    assert compared >= 1, "random weights gave only trivial masks: pick another prompt"


def test_padding_is_exact_zeros_after_normalisation(tiny_export, tiny_torch_sam, frame):
    """The embedding equals the torch encoder on SAM's own preprocess (normalise, then zero-pad)."""
    from samstream.engine.transforms import SquareFrame

    ours = SamPredictor(OVSamModel(tiny_export, precision="fp32"))
    emb = ours.encode(frame).features["image_embeddings"]
    rgb = SquareFrame(frame.shape[:2], side=128).resize(frame)[:, :, ::-1].astype(np.float32).copy()
    with torch.no_grad():
        ref = tiny_torch_sam.image_encoder(tiny_torch_sam.preprocess(torch.from_numpy(rgb).permute(2, 0, 1)[None]))
    assert emb.shape == tuple(ref.shape) == (1, 32, 8, 8)
    np.testing.assert_allclose(emb, ref.numpy(), atol=1e-4 * max(1.0, float(ref.abs().max())))


def _copy_with_meta(tiny_export, tmp_path, **changes):
    import json
    import shutil

    from samstream.models.cache import ExportedModel

    folder = tmp_path / "copy"
    shutil.copytree(tiny_export.folder, folder)
    meta = {k: v for k, v in tiny_export.meta.items() if k != "ir_version"}
    meta.update({k: v for k, v in changes.items() if v is not None})
    (folder / "meta.json").write_text(json.dumps(meta))
    return ExportedModel("tiny-test", "random-init", folder, meta)


def test_exports_from_before_the_in_ir_padding_still_load(tiny_export, tmp_path, frame):
    """A cached export without ``ir_version`` (1: mean-padded square input) keeps working as before."""
    old = OVSamModel(_copy_with_meta(tiny_export, tmp_path), precision="fp32")
    assert old.ir_version == 1 and old.encoder_input(frame).shape == (1, 128, 128, 3)
    assert OVSamModel(tiny_export, precision="fp32").encoder_input(frame).shape == (1, 77, 128, 3)


def test_export_from_a_newer_version_says_re_export(tiny_export, tmp_path):
    with pytest.raises(ValueError, match="re-run `samstream export"):
        OVSamModel(_copy_with_meta(tiny_export, tmp_path, ir_version=3), precision="fp32")
