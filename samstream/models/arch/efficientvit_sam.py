"""EfficientViT-SAM image encoder (EfficientViT-L backbone + SAM neck), L0 variant.

An independent re-implementation of the image encoder of mit-han-lab's EfficientViT-SAM
(Apache-2.0) whose parameter and buffer names/shapes match the official checkpoint
``efficientvit_sam_l0.pt`` (keys ``image_encoder.<name>`` inside the full model state dict),
so ``module.load_state_dict(sd, strict=True)`` works after stripping ``image_encoder.``.

EfficientViT-SAM-L0 at a glance (input 512x512, output (B, 256, 64, 64)):

* ``backbone.stages.0``: 3x3/2 conv+BN+GELU (32 ch) and one residual ``ResBlock`` -> 256x256.
* ``backbone.stages.1``/``2``: FusedMBConv downsample (expand 16) + 1 FusedMBConv (expand 4)
  -> 64 ch @128, 128 ch @64.
* ``backbone.stages.3``: MBConv downsample (expand 16) + 4 MBConv (expand 4) -> 256 ch @32.
* ``backbone.stages.4``: MBConv downsample (expand 24) + 4 EfficientViT blocks (ReLU linear
  attention "LiteMLA" with 5x5 multi-scale aggregation, head dim 32, MBConv expand 6)
  -> 512 ch @16.
* ``neck``: 1x1 conv+BN of stages 4/3/2, bicubic upsample to 64x64, sum, 4 residual
  FusedMBConv (expand 1), 1x1 conv (bias) to 256 ch.
* ``norm``: LayerNorm2d over channels.

Numerics follow the official ``create_sam_model``: GELU is the tanh approximation and every
BatchNorm/LayerNorm uses ``eps=1e-6`` (upstream calls ``set_norm_eps(model, 1e-6)``).

Export notes: ``forward`` has no data- or shape-dependent Python branches (the same-size
resize that upstream skips at run time is skipped by a flag fixed at construction, and the
attention always uses its linear form). The linear attention is plain matmuls and a
constant pad, which ``openvino.convert_model`` handles.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "LayerNorm2d",
    "EfficientViTSamImageEncoder",
    "efficientvit_sam_image_encoder",
    "efficientvit_sam_l0_image_encoder",
    "L0_CONFIG",
]

NORM_EPS = 1e-6

# efficientvit_backbone_l0 + SamNeck(l0) configuration.
L0_CONFIG = dict(
    width_list=(32, 64, 128, 256, 512),
    depth_list=(1, 1, 1, 4, 4),
    block_list=("res", "fmb", "fmb", "mb", "att"),
    expand_list=(1, 4, 4, 4, 6),
    fewer_norm_list=(False, False, False, True, True),
    qkv_dim=32,
    neck_stages=(4, 3, 2),      # fid_list ["stage4", "stage3", "stage2"], in this order
    head_width=256,
    head_depth=4,
    neck_expand_ratio=1.0,
    out_dim=256,
    img_size=512,
    embed_size=64,
)


def _gelu() -> nn.Module:
    return nn.GELU(approximate="tanh")


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of an NCHW tensor (parameters ``weight``/``bias``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centered = x - x.mean(dim=1, keepdim=True)
        x = centered / torch.sqrt(centered.square().mean(dim=1, keepdim=True) + self.eps)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class ConvNormAct(nn.Module):
    """Conv2d ("same" padding) + optional BatchNorm + optional GELU (``conv``/``norm``)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1,
                 bias: bool = False, norm: bool = True, act: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=bias)
        self.norm = nn.BatchNorm2d(cout, eps=NORM_EPS) if norm else None
        self.act = _gelu() if act else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.act is not None:
            x = self.act(x)
        return x


class OpSequential(nn.Module):
    """Sequential container whose children live in ``op_list`` (upstream naming)."""

    def __init__(self, ops: Sequence[nn.Module]) -> None:
        super().__init__()
        self.op_list = nn.ModuleList(ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.op_list:
            x = op(x)
        return x


class Residual(nn.Module):
    """``main(x) + x`` (``identity=True``) or just ``main(x)``; child named ``main``."""

    def __init__(self, main: nn.Module, identity: bool) -> None:
        super().__init__()
        self.main = main
        self.identity = identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.main(x)
        return y + x if self.identity else y


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: float, fewer_norm: bool) -> None:
        super().__init__()
        mid = round(cin * expand)
        self.conv1 = ConvNormAct(cin, mid, 3, stride, bias=fewer_norm, norm=not fewer_norm)
        self.conv2 = ConvNormAct(mid, cout, 3, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class FusedMBConv(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: float, fewer_norm: bool) -> None:
        super().__init__()
        mid = round(cin * expand)
        self.spatial_conv = ConvNormAct(cin, mid, 3, stride, bias=fewer_norm, norm=not fewer_norm)
        self.point_conv = ConvNormAct(mid, cout, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.spatial_conv(x))


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: float, fewer_norm: bool) -> None:
        super().__init__()
        mid = round(cin * expand)
        self.inverted_conv = ConvNormAct(cin, mid, 1, bias=fewer_norm, norm=not fewer_norm)
        self.depth_conv = ConvNormAct(mid, mid, 3, stride, groups=mid, bias=fewer_norm,
                                      norm=not fewer_norm)
        self.point_conv = ConvNormAct(mid, cout, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(self.inverted_conv(x)))


def _local_block(kind: str, cin: int, cout: int, stride: int, expand: float,
                 fewer_norm: bool) -> nn.Module:
    blocks = {"res": ResBlock, "fmb": FusedMBConv, "mb": MBConv}
    return blocks[kind](cin, cout, stride, expand, fewer_norm)


class LiteMLA(nn.Module):
    """Multi-scale ReLU linear attention.

    q/k/v come from a 1x1 conv; each extra scale adds a depthwise k x k conv followed by a
    grouped 1x1 conv on the concatenated qkv. Attention per head of size ``dim``:
    ``out = (V [K;1]^T) relu(Q)`` normalised by the appended ones-row, i.e.
    ``out_n = sum_m v_m (k_m . q_n) / (sum_m k_m . q_n + eps)``.
    """

    def __init__(self, channels: int, dim: int, scales: Sequence[int] = (5,),
                 eps: float = 1.0e-15) -> None:
        super().__init__()
        heads = channels // dim
        total = heads * dim
        self.dim = dim
        self.eps = eps
        self.qkv = ConvNormAct(channels, 3 * total, 1, norm=False, act=False)
        self.aggreg = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(3 * total, 3 * total, s, padding=s // 2, groups=3 * total, bias=False),
                nn.Conv2d(3 * total, 3 * total, 1, groups=3 * heads, bias=False),
            )
            for s in scales
        )
        self.proj = ConvNormAct(total * (1 + len(scales)), channels, 1, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        qkv = self.qkv(x)
        qkv = torch.cat([qkv] + [op(qkv) for op in self.aggreg], dim=1)
        d = self.dim
        qkv = qkv.reshape(qkv.shape[0], -1, 3 * d, h * w)     # (B, heads', 3d, N)
        q = F.relu(qkv[:, :, :d])
        k = F.relu(qkv[:, :, d:2 * d])
        v = qkv[:, :, 2 * d:]
        # Linear form. Upstream switches to the (mathematically identical) quadratic form
        # only when h*w <= dim, which never happens at SAM resolutions; one code path keeps
        # the traced graph free of shape-dependent branches.
        v1 = F.pad(v, (0, 0, 0, 1), mode="constant", value=1.0)   # (B, h', d+1, N)
        out = torch.matmul(torch.matmul(v1, k.transpose(-1, -2)), q)
        out = out[:, :, :-1] / (out[:, :, -1:] + self.eps)
        out = out.reshape(out.shape[0], -1, h, w)
        return self.proj(out)


class EfficientViTBlock(nn.Module):
    def __init__(self, channels: int, dim: int, expand: float, scales: Sequence[int]) -> None:
        super().__init__()
        self.context_module = Residual(LiteMLA(channels, dim, scales), identity=True)
        self.local_module = Residual(MBConv(channels, channels, 1, expand, fewer_norm=True),
                                     identity=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.local_module(self.context_module(x))


class EfficientViTLargeBackbone(nn.Module):
    """EfficientViT-L backbone; ``forward`` returns the list of all stage outputs."""

    def __init__(self, width_list: Sequence[int], depth_list: Sequence[int],
                 block_list: Sequence[str], expand_list: Sequence[float],
                 fewer_norm_list: Sequence[bool], qkv_dim: int = 32, in_channels: int = 3) -> None:
        super().__init__()
        w0 = width_list[0]
        stage0: list[nn.Module] = [ConvNormAct(in_channels, w0, 3, 2)]
        for _ in range(depth_list[0]):
            stage0.append(Residual(_local_block(block_list[0], w0, w0, 1, expand_list[0],
                                                fewer_norm_list[0]), identity=True))
        stages = [OpSequential(stage0)]
        cin = w0
        for i in range(1, len(width_list)):
            w, kind = width_list[i], block_list[i]
            down_kind = kind if kind in ("mb", "fmb") else "mb"
            ops: list[nn.Module] = [Residual(
                _local_block(down_kind, cin, w, 2, expand_list[i] * 4, fewer_norm_list[i]),
                identity=False)]
            for _ in range(depth_list[i]):
                if kind.startswith("att"):
                    scales = (3,) if kind == "att@3" else (5,)
                    ops.append(EfficientViTBlock(w, qkv_dim, expand_list[i], scales))
                else:
                    ops.append(Residual(_local_block(kind, w, w, 1, expand_list[i],
                                                     fewer_norm_list[i]), identity=True))
            stages.append(OpSequential(ops))
            cin = w
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class Resize(nn.Module):
    """Bicubic resize to a fixed size.

    Upstream skips the resize when the input already has the target size; here that is
    decided once, from the static input size (``in_size``), so tracing sees no branch.
    """

    def __init__(self, size: int, in_size: Optional[int] = None) -> None:
        super().__init__()
        self.size = size
        self.skip = in_size == size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.skip:
            return x
        return F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False)


class SamNeck(nn.Module):
    """Fuses several backbone stages into the SAM embedding (upstream ``DAGBlock`` names)."""

    def __init__(self, in_channels: Sequence[int], in_sizes: Sequence[int], head_width: int,
                 head_depth: int, expand_ratio: float, out_dim: int, size: int) -> None:
        super().__init__()
        self.input_ops = nn.ModuleList(
            OpSequential([ConvNormAct(c, head_width, 1, act=False), Resize(size, s)])
            for c, s in zip(in_channels, in_sizes)
        )
        self.middle = OpSequential([
            Residual(FusedMBConv(head_width, head_width, 1, expand_ratio, fewer_norm=False),
                     identity=True)
            for _ in range(head_depth)
        ])
        self.output_ops = nn.ModuleList([
            OpSequential([ConvNormAct(head_width, out_dim, 1, bias=True, norm=False, act=False)])
        ])

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        x = self.input_ops[0](feats[0])
        for op, f in zip(self.input_ops[1:], feats[1:]):
            x = x + op(f)
        x = self.middle(x)
        return self.output_ops[0](x)


class EfficientViTSamImageEncoder(nn.Module):
    """(B, 3, S, S) SAM-normalised, bottom/right zero-padded image -> (B, 256, 64, 64)."""

    def __init__(self, width_list: Sequence[int], depth_list: Sequence[int],
                 block_list: Sequence[str], expand_list: Sequence[float],
                 fewer_norm_list: Sequence[bool], qkv_dim: int, neck_stages: Sequence[int],
                 head_width: int, head_depth: int, neck_expand_ratio: float, out_dim: int,
                 img_size: int, embed_size: int) -> None:
        super().__init__()
        self.img_size = img_size
        self.neck_stages = tuple(neck_stages)
        self.backbone = EfficientViTLargeBackbone(width_list, depth_list, block_list,
                                                  expand_list, fewer_norm_list, qkv_dim)
        # stage s runs at img_size / 2**(s+1) (every stage starts with a stride-2 block)
        self.neck = SamNeck([width_list[s] for s in neck_stages],
                            [-(-img_size // 2 ** (s + 1)) for s in neck_stages],
                            head_width, head_depth, neck_expand_ratio, out_dim, embed_size)
        self.norm = LayerNorm2d(out_dim, eps=NORM_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(x)
        y = self.neck([feats[s] for s in self.neck_stages])
        return self.norm(y)


def efficientvit_sam_image_encoder(**overrides) -> EfficientViTSamImageEncoder:
    """Build an encoder from :data:`L0_CONFIG` with any field overridden (tiny test configs)."""
    cfg = dict(L0_CONFIG)
    cfg.update(overrides)
    return EfficientViTSamImageEncoder(**cfg).eval()


def efficientvit_sam_l0_image_encoder() -> EfficientViTSamImageEncoder:
    """EfficientViT-SAM-L0 image encoder (eval mode, random init), 512x512 -> (B,256,64,64).

    Load the official weights with::

        sd = torch.load("efficientvit_sam_l0.pt", map_location="cpu")
        sd = sd.get("state_dict", sd)       # upstream's loader unwraps this key if present
        enc.load_state_dict({k[len("image_encoder."):]: v for k, v in sd.items()
                             if k.startswith("image_encoder.")})
    """
    return EfficientViTSamImageEncoder(**L0_CONFIG).eval()
