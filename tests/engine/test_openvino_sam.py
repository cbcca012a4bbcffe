"""The OpenVINO SAM predictor reproduces the torch reference model (same weights) and checks input."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the [export] extra (torch)")

from samstream.engine.openvino_sam import OVSamModel, SamPredictor  # noqa: E402
from samstream.engine.transforms import SquareFrame  # noqa: E402
from samstream.geometry import mask_iou


@pytest.fixture(scope="module")
def image():
    from samstream.sources.synthetic import SyntheticScene

    img, _ = SyntheticScene(200, 120, seed=3).render(0)
    return img


@pytest.fixture(scope="module")
def predictor(tiny_export, image):
    p = SamPredictor(OVSamModel(tiny_export, precision="fp32"))
    p.set_image(image)
    return p


def _reference(sam, predictor, image, coords=None, labels=None, box=None, mask_input=None, multimask=True):
    """The official torch modules on the same preprocessed input (prompt encoder + mask decoder)."""
    model = predictor.model
    sq = SquareFrame(image.shape[:2], side=model.prompt_side, low_res=model.low_res_side)
    rgb = model.encoder_input(image)[0][:, :, ::-1].astype(np.float32).copy()
    assert max(rgb.shape[:2]) == model.encoder_side  # resized, unpadded: the IR pads
    x = sam.preprocess(torch.from_numpy(rgb).permute(2, 0, 1)[None])  # SAM: normalise, then zero-pad
    with torch.no_grad():
        emb = sam.image_encoder(x)
        pts = None
        if coords is not None:
            pts = (torch.from_numpy(sq.to_input(np.asarray(coords, np.float32)))[None],
                   torch.tensor(np.asarray(labels))[None])
        bx = None if box is None else torch.from_numpy(sq.to_input(np.asarray(box, np.float32).reshape(2, 2)).reshape(1, 4))
        mi = None if mask_input is None else torch.from_numpy(mask_input)[None]
        sparse, dense = sam.prompt_encoder(points=pts, boxes=bx, masks=mi)
        low, iou = sam.mask_decoder(image_embeddings=emb, image_pe=sam.prompt_encoder.get_dense_pe(),
                                    sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                    multimask_output=multimask)
    logits = sq.logits_to_frame(low[0].numpy())
    return logits > 0, iou[0].numpy(), low[0].numpy()


CASES = {
    "one include point": dict(coords=[[50, 60]], labels=[1]),
    "include + exclude": dict(coords=[[50, 60], [150, 30]], labels=[1, 0]),
    "box": dict(box=[20, 10, 120, 100]),
    "box + points": dict(coords=[[60, 50], [100, 90]], labels=[1, 0], box=[20, 10, 120, 100]),
}


@pytest.mark.parametrize("multimask", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_openvino_matches_torch_reference(predictor, tiny_torch_sam, image, case, multimask):
    kw = CASES[case]
    masks, scores, low = predictor.predict(point_coords=kw.get("coords"), point_labels=kw.get("labels"),
                                           box=kw.get("box"), multimask_output=multimask)
    rmasks, rscores, rlow = _reference(tiny_torch_sam, predictor, image, kw.get("coords"), kw.get("labels"),
                                       kw.get("box"), multimask=multimask)
    assert masks.shape == rmasks.shape == ((3 if multimask else 1), 120, 200)
    assert low.shape == rlow.shape
    np.testing.assert_allclose(low, rlow, atol=1e-3 * max(1.0, float(np.abs(rlow).max())))
    np.testing.assert_allclose(scores, rscores, atol=1e-3)
    for a, b in zip(masks, rmasks):
        if b.sum() > 50:  # IoU is meaningful only for non-trivial masks
            assert mask_iou(a, b, empty=0.0) >= 0.99


def test_mask_input_matches_reference(predictor, tiny_torch_sam, image):
    _, _, low = predictor.predict(point_coords=[[50, 60]], point_labels=[1], multimask_output=False)
    masks, scores, low2 = predictor.predict(point_coords=[[50, 60]], point_labels=[1], mask_input=low,
                                            multimask_output=False)
    _, rscores, rlow = _reference(tiny_torch_sam, predictor, image, [[50, 60]], [1], mask_input=low,
                                  multimask=False)
    np.testing.assert_allclose(low2, rlow, atol=1e-3 * max(1.0, float(np.abs(rlow).max())))
    np.testing.assert_allclose(scores, rscores, atol=1e-3)


def test_batch_equals_single_calls(predictor):
    prompts = [([[50, 60]], [1], None, None), (None, None, [20, 10, 120, 100], None),
               ([[10, 10], [30, 30], [60, 60]], [1, 1, 0], None, None)]
    batch = predictor.predict_batch(prompts, multimask_output=True)
    assert len(batch) == 3
    for p, (m, s, l) in zip(prompts, batch):
        m1, s1, l1 = predictor.predict(*p, multimask_output=True)
        np.testing.assert_allclose(l, l1, atol=1e-4)
        np.testing.assert_allclose(s, s1, atol=1e-5)


@pytest.mark.parametrize("hw", [(120, 200), (200, 120), (64, 64), (481, 641)])
def test_any_frame_size_gives_frame_aligned_masks(tiny_export, hw):
    p = SamPredictor(OVSamModel(tiny_export, precision="fp16"))
    p.set_image(np.full((*hw, 3), 100, np.uint8))
    masks, scores, low = p.predict(point_coords=[[hw[1] / 2, hw[0] / 2]], point_labels=[1])
    assert masks.shape == (3, *hw) and masks.dtype == bool
    assert scores.shape == (3,) and scores.dtype == np.float32
    assert low.shape == (3, 32, 32)


def test_int8_export_is_quantized_and_stays_close(tiny_export, image):
    import openvino as ov

    ops = [op.get_type_name() for op in ov.Core().read_model(tiny_export.encoder_xml("int8")).get_ops()]
    matmuls = ops.count("MatMul") + ops.count("Convolution")
    assert ops.count("FakeQuantize") >= matmuls // 2, "INT8 export left most MatMuls/convs unquantized"
    fp = SamPredictor(OVSamModel(tiny_export, precision="fp32"))
    q = SamPredictor(OVSamModel(tiny_export, precision="int8"))
    e1 = fp.encode(image).features["image_embeddings"].ravel()
    e2 = q.encode(image).features["image_embeddings"].ravel()
    # a 2-layer random-weight model calibrated on 4 frames: direction must be preserved
    assert float(e1 @ e2 / np.linalg.norm(e1) / np.linalg.norm(e2)) > 0.85


BAD = {
    "NaN point": (dict(point_coords=[[np.nan, 3]], point_labels=[1]), "NaN"),
    "point outside": (dict(point_coords=[[500, 3]], point_labels=[1]), "outside"),
    "label count": (dict(point_coords=[[5, 3], [6, 6]], point_labels=[1]), "labels"),
    "bad label": (dict(point_coords=[[5, 3]], point_labels=[7]), r"0 \(exclude\) or 1"),
    "box order": (dict(box=[50, 50, 10, 10]), "x2 < x1"),
    "box size": (dict(box=[1, 2, 3]), "expected 4"),
    "mask_input shape": (dict(point_coords=[[5, 3]], point_labels=[1], mask_input=np.zeros((1, 8, 8))), "low_res_logits"),
    "empty prompt": (dict(), "empty prompt"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_prompts_raise_value_error_with_fix(predictor, case):
    kw, words = BAD[case]
    with pytest.raises(ValueError, match=words):
        predictor.predict(**kw)


@pytest.mark.parametrize("bad, words", [
    (None, "None"), (np.zeros((0, 5, 3), np.uint8), "empty"), (np.zeros((5, 5, 3), np.float32), "uint8"),
    (np.zeros((5, 5, 2), np.uint8), "shape"), ("img.png", "numpy"),
])
def test_bad_images_raise(predictor, bad, words):
    with pytest.raises(ValueError, match=words):
        predictor.set_image(bad)


def test_predict_before_set_image(tiny_export):
    p = SamPredictor(OVSamModel(tiny_export, precision="fp32"))
    with pytest.raises(RuntimeError, match="set_image"):
        p.predict(point_coords=[[1, 1]], point_labels=[1])


def test_missing_export_names_the_command(isolated_cache):
    with pytest.raises(FileNotFoundError, match="samstream export mobilesam"):
        OVSamModel.load("mobilesam")


def test_unknown_model_lists_known(isolated_cache):
    from samstream.engine import load_predictor

    with pytest.raises(ValueError, match="classic"):
        load_predictor("mobilesamm")


def test_corrupt_ir_names_the_fix(tiny_export, tmp_path):
    import shutil

    from samstream.models.cache import ExportedModel

    bad = tmp_path / "bad"
    shutil.copytree(tiny_export.folder, bad)
    (bad / "encoder_fp32.xml").write_text("<net>not really</net>")
    with pytest.raises(ValueError, match="re-run `samstream export"):
        OVSamModel(ExportedModel("tiny-test", "random-init", bad, tiny_export.meta), precision="fp32")
