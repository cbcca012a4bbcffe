"""Architecture tests for the PyTorch image encoders in ``samstream.models.arch``.

The expected state-dict layouts below are re-derived, independently of the implementation,
from the official model code (MobileSAM ``mobile_sam/modeling/tiny_vit_sam.py`` +
``build_sam_vit_t``; mit-han-lab/efficientvit ``models/efficientvit/{backbone,sam}.py`` and
``models/nn/ops.py``). Matching names *and* shapes is what lets the official checkpoints
load with ``strict=True``.

Parameter totals are cross-checked against published numbers:

* MobileSAM: encoder 6,065,532 params (incl. TinyViT's unused 1000-class head, which the
  checkpoint carries). With SAM's prompt encoder + mask decoder (4,064,560) this is
  10,130,092 = 9.66 * 2**20, the "9.66M" whole-pipeline figure of the MobileSAM README
  (whose "3.876M" decoder figure is 4,064,560 / 2**20, i.e. the same units).
* EfficientViT-SAM-L0: encoder 30,728,224; + 4,064,560 = 34,792,784, the "34.8M" of the
  EfficientViT-SAM README.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from samstream.models.arch.efficientvit_sam import (
    L0_CONFIG,
    efficientvit_sam_image_encoder,
    efficientvit_sam_l0_image_encoder,
)
from samstream.models.arch.tiny_vit import MOBILESAM_CONFIG, mobilesam_image_encoder, tiny_vit

torch.set_num_threads(2)

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(prefix: str, c: int) -> dict[str, tuple]:
    return {f"{prefix}.{n}": ((c,) if n != "num_batches_tracked" else ()) for n in BN}


# --------------------------------------------------------------------------------------
# Expected layouts, written from the official code
# --------------------------------------------------------------------------------------

def expected_tinyvit_keys(embed_dims, depths, num_heads, window_sizes, mlp_ratio=4.0,
                          expand=4.0, num_classes=1000, out_chans=256) -> dict[str, tuple]:
    k: dict[str, tuple] = {}

    def conv_bn(p, cin, cout, ks, groups=1):
        k[f"{p}.c.weight"] = (cout, cin // groups, ks, ks)
        k.update(_bn(f"{p}.bn", cout))

    e0 = embed_dims[0]
    conv_bn("patch_embed.seq.0", 3, e0 // 2, 3)
    conv_bn("patch_embed.seq.2", e0 // 2, e0, 3)
    for i, (d, depth) in enumerate(zip(embed_dims, depths)):
        for b in range(depth):
            p = f"layers.{i}.blocks.{b}"
            if i == 0:  # MBConv
                h = int(d * expand)
                conv_bn(f"{p}.conv1", d, h, 1)
                conv_bn(f"{p}.conv2", h, h, 3, groups=h)
                conv_bn(f"{p}.conv3", h, d, 1)
            else:       # TinyViTBlock
                ws = window_sizes[i]
                n_off = len({(abs(a[0] - c[0]), abs(a[1] - c[1]))
                             for a in itertools.product(range(ws), repeat=2)
                             for c in itertools.product(range(ws), repeat=2)})
                k[f"{p}.attn.attention_biases"] = (num_heads[i], n_off)
                # attention_bias_idxs: registered with persistent=False upstream -> absent.
                k[f"{p}.attn.norm.weight"] = (d,)
                k[f"{p}.attn.norm.bias"] = (d,)
                k[f"{p}.attn.qkv.weight"] = (3 * d, d)
                k[f"{p}.attn.qkv.bias"] = (3 * d,)
                k[f"{p}.attn.proj.weight"] = (d, d)
                k[f"{p}.attn.proj.bias"] = (d,)
                hid = int(d * mlp_ratio)
                k[f"{p}.mlp.norm.weight"] = (d,)
                k[f"{p}.mlp.norm.bias"] = (d,)
                k[f"{p}.mlp.fc1.weight"] = (hid, d)
                k[f"{p}.mlp.fc1.bias"] = (hid,)
                k[f"{p}.mlp.fc2.weight"] = (d, hid)
                k[f"{p}.mlp.fc2.bias"] = (d,)
                conv_bn(f"{p}.local_conv", d, d, 3, groups=d)
        if i < len(depths) - 1:
            o = embed_dims[i + 1]
            conv_bn(f"layers.{i}.downsample.conv1", d, o, 1)
            conv_bn(f"layers.{i}.downsample.conv2", o, o, 3, groups=o)
            conv_bn(f"layers.{i}.downsample.conv3", o, o, 1)
    last = embed_dims[-1]
    k["norm_head.weight"] = (last,)
    k["norm_head.bias"] = (last,)
    k["head.weight"] = (num_classes, last)
    k["head.bias"] = (num_classes,)
    k["neck.0.weight"] = (out_chans, last, 1, 1)
    k["neck.1.weight"] = (out_chans,)
    k["neck.1.bias"] = (out_chans,)
    k["neck.2.weight"] = (out_chans, out_chans, 3, 3)
    k["neck.3.weight"] = (out_chans,)
    k["neck.3.bias"] = (out_chans,)
    return k


def expected_efficientvit_sam_keys(width_list, depth_list, block_list, expand_list,
                                   fewer_norm_list, qkv_dim, neck_stages, head_width,
                                   head_depth, neck_expand_ratio, out_dim, **_) -> dict[str, tuple]:
    k: dict[str, tuple] = {}

    def conv(p, cin, cout, ks, groups=1, bias=False, norm=True):
        k[f"{p}.conv.weight"] = (cout, cin // groups, ks, ks)
        if bias:
            k[f"{p}.conv.bias"] = (cout,)
        if norm:
            k.update(_bn(f"{p}.norm", cout))

    def local(p, kind, cin, cout, expand, fewer):
        mid = round(cin * expand)
        if kind == "res":
            conv(f"{p}.conv1", cin, mid, 3, bias=fewer, norm=not fewer)
            conv(f"{p}.conv2", mid, cout, 3)
        elif kind == "fmb":
            conv(f"{p}.spatial_conv", cin, mid, 3, bias=fewer, norm=not fewer)
            conv(f"{p}.point_conv", mid, cout, 1)
        else:  # mb
            conv(f"{p}.inverted_conv", cin, mid, 1, bias=fewer, norm=not fewer)
            conv(f"{p}.depth_conv", mid, mid, 3, groups=mid, bias=fewer, norm=not fewer)
            conv(f"{p}.point_conv", mid, cout, 1)

    w0 = width_list[0]
    conv("backbone.stages.0.op_list.0", 3, w0, 3)
    for j in range(depth_list[0]):
        local(f"backbone.stages.0.op_list.{1 + j}.main", block_list[0], w0, w0,
              expand_list[0], fewer_norm_list[0])
    cin = w0
    for s in range(1, len(width_list)):
        w, kind, ex, fewer = width_list[s], block_list[s], expand_list[s], fewer_norm_list[s]
        p = f"backbone.stages.{s}.op_list"
        local(f"{p}.0.main", kind if kind in ("mb", "fmb") else "mb", cin, w, ex * 4, fewer)
        for j in range(depth_list[s]):
            q = f"{p}.{1 + j}"
            if kind.startswith("att"):
                heads, total = w // qkv_dim, (w // qkv_dim) * qkv_dim
                m = f"{q}.context_module.main"
                conv(f"{m}.qkv", w, 3 * total, 1, norm=False)
                ks = 3 if kind == "att@3" else 5
                k[f"{m}.aggreg.0.0.weight"] = (3 * total, 1, ks, ks)
                k[f"{m}.aggreg.0.1.weight"] = (3 * total, 3 * total // (3 * heads), 1, 1)
                conv(f"{m}.proj", 2 * total, w, 1)
                local(f"{q}.local_module.main", "mb", w, w, ex, True)
            else:
                local(f"{q}.main", kind, w, w, ex, fewer)
        cin = w
    for i, s in enumerate(neck_stages):
        conv(f"neck.input_ops.{i}.op_list.0", width_list[s], head_width, 1)
    for j in range(head_depth):
        local(f"neck.middle.op_list.{j}.main", "fmb", head_width, head_width,
              neck_expand_ratio, False)
    conv("neck.output_ops.0.op_list.0", head_width, out_dim, 1, bias=True, norm=False)
    k["norm.weight"] = (out_dim,)
    k["norm.bias"] = (out_dim,)
    return k


def _layout(module: torch.nn.Module) -> dict[str, tuple]:
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------
# (a) MobileSAM, full size
# --------------------------------------------------------------------------------------

def test_mobilesam_encoder_layout_and_shape():
    enc = mobilesam_image_encoder()
    expected = expected_tinyvit_keys(**{k: MOBILESAM_CONFIG[k] for k in
                                        ("embed_dims", "depths", "num_heads", "window_sizes")})
    got = _layout(enc)
    assert set(got) == set(expected), (sorted(set(got) ^ set(expected)))[:20]
    assert got == expected
    # representative keys from the official checkpoint
    assert got["layers.1.blocks.0.attn.attention_biases"] == (4, 49)
    assert got["layers.2.blocks.5.attn.attention_biases"] == (5, 196)
    assert got["layers.3.blocks.1.attn.qkv.weight"] == (960, 320)
    assert got["layers.2.downsample.conv2.c.weight"] == (320, 1, 3, 3)
    assert got["head.weight"] == (1000, 320)
    assert "layers.1.blocks.0.attn.attention_bias_idxs" not in got   # non-persistent upstream
    assert len(got) == 302
    assert _n_params(enc) == 6_065_532

    # strict load of a checkpoint-style (``image_encoder.``-prefixed) dict
    ckpt = {f"image_encoder.{k}": v.clone() for k, v in enc.state_dict().items()}
    enc.load_state_dict({k[len("image_encoder."):]: v for k, v in ckpt.items()}, strict=True)

    with torch.no_grad():
        out = enc(torch.randn(1, 3, 1024, 1024))
    assert out.shape == (1, 256, 64, 64)
    assert torch.isfinite(out).all()


# --------------------------------------------------------------------------------------
# (b) EfficientViT-SAM-L0, full size
# --------------------------------------------------------------------------------------

def test_efficientvit_sam_l0_layout_and_shape():
    enc = efficientvit_sam_l0_image_encoder()
    expected = expected_efficientvit_sam_keys(**L0_CONFIG)
    got = _layout(enc)
    assert set(got) == set(expected), (sorted(set(got) ^ set(expected)))[:20]
    assert got == expected
    assert got["backbone.stages.4.op_list.0.main.inverted_conv.conv.weight"] == (6144, 256, 1, 1)
    assert got["backbone.stages.4.op_list.4.context_module.main.aggreg.0.1.weight"] == (
        1536, 32, 1, 1)
    assert got["neck.input_ops.2.op_list.0.conv.weight"] == (256, 128, 1, 1)
    assert got["neck.middle.op_list.3.main.spatial_conv.conv.weight"] == (256, 256, 3, 3)
    assert len(got) == 272
    assert _n_params(enc) == 30_728_224
    # upstream sets every norm eps to 1e-6 (set_norm_eps) and uses tanh-GELU
    assert all(m.eps == 1e-6 for m in enc.modules()
               if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.LayerNorm)))

    with torch.no_grad():
        out = enc(torch.randn(1, 3, 512, 512))
    assert out.shape == (1, 256, 64, 64)
    assert torch.isfinite(out).all()


# --------------------------------------------------------------------------------------
# (c) tiny configs: OpenVINO conversion and numerical agreement
# --------------------------------------------------------------------------------------

def _randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter/BN statistic a non-trivial value so the comparison means something."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.dim() <= 1 and name.endswith("weight"):        # norm scales
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
            else:
                fan_in = t[0].numel() if t.dim() > 1 else 1
                t.copy_(torch.randn(t.shape, generator=g) * (0.5 / fan_in ** 0.5 if t.dim() > 1
                                                              else 0.1))
    return module.eval()


def _check_openvino(module: torch.nn.Module, size: int, out_shape: tuple) -> None:
    ov = pytest.importorskip("openvino")
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = module(x).numpy()
    assert ref.shape == out_shape
    ov_model = ov.convert_model(module, example_input=torch.zeros(1, 3, size, size))
    compiled = ov.Core().compile_model(ov_model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    got = compiled(x.numpy())[0]
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-3, np.abs(got - ref).max()


TINY_VIT = dict(img_size=256, embed_dims=(16, 32, 40, 80), depths=(1, 1, 2, 1),
                num_heads=(1, 2, 2, 4), window_sizes=(7, 7, 14, 7), out_chans=32, num_classes=10)


def test_tiny_vit_tiny_config_layout():
    enc = tiny_vit(**TINY_VIT)
    expected = expected_tinyvit_keys(TINY_VIT["embed_dims"], TINY_VIT["depths"],
                                     TINY_VIT["num_heads"], TINY_VIT["window_sizes"],
                                     num_classes=10, out_chans=32)
    assert _layout(enc) == expected


def test_tiny_vit_openvino_matches_torch():
    # 256 input: stages at 64/32/16/16, so windows of 7 and 14 both need padding.
    enc = _randomize(tiny_vit(**TINY_VIT))
    _check_openvino(enc, 256, (1, 32, 16, 16))


TINY_EVIT = dict(width_list=(8, 16, 24, 32, 48), depth_list=(1, 1, 1, 1, 2), qkv_dim=8,
                 head_width=16, head_depth=1, out_dim=16, img_size=128, embed_size=16)


def test_efficientvit_tiny_config_layout():
    enc = efficientvit_sam_image_encoder(**TINY_EVIT)
    cfg = dict(L0_CONFIG)
    cfg.update(TINY_EVIT)
    assert _layout(enc) == expected_efficientvit_sam_keys(**cfg)


def test_efficientvit_openvino_matches_torch():
    # 128 input: stages at 64/32/16/8/4; the neck bicubically upsamples 4->16 and 8->16.
    enc = _randomize(efficientvit_sam_image_encoder(**TINY_EVIT))
    _check_openvino(enc, 128, (1, 16, 16, 16))
