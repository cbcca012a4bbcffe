"""TinyViT image encoder as used by MobileSAM (``build_sam_vit_t``).

An independent re-implementation whose parameter and buffer names/shapes match the
official MobileSAM checkpoint (``mobile_sam.pt``; keys ``image_encoder.<name>`` inside the
full SAM state dict), so ``module.load_state_dict(sd, strict=True)`` works after stripping
the ``image_encoder.`` prefix.

Layout (MobileSAM, 1024x1024 input):

* ``patch_embed``: two stride-2 3x3 conv+BN (GELU between) -> 64 ch, 256x256.
* ``layers.0``: MBConv stage (2 blocks) + patch merging -> 128 ch, 128x128.
* ``layers.1``: 2 TinyViT blocks (window 7) + merging -> 160 ch, 64x64.
* ``layers.2``: 6 TinyViT blocks (window 14) + merging with **stride 1** -> 320 ch, 64x64.
* ``layers.3``: 2 TinyViT blocks (window 7).
* ``neck``: 1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d -> (B, 256, 64, 64).
* ``norm_head`` / ``head``: the unused ImageNet classifier head of TinyViT. It is never run,
  but the official checkpoint carries its weights, so it is kept for strict loading.

``Attention.attention_bias_idxs`` is a *non-persistent* buffer, exactly as upstream: it is
not in the checkpoint and not in ``state_dict()``.

Export notes: every shape used in ``forward`` comes from the static configuration (window
padding amounts are Python ints fixed at construction), the batch dimension is always
``-1``, there is no DropPath/Dropout, and attention is a plain matmul + softmax, so
``openvino.convert_model`` and ``torch.onnx.export`` trace it cleanly.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "LayerNorm2d",
    "TinyViT",
    "tiny_vit",
    "mobilesam_image_encoder",
    "MOBILESAM_CONFIG",
]

# MobileSAM's ``build_sam_vit_t`` configuration (TinyViT-5M, adapted to 1024 input).
MOBILESAM_CONFIG = dict(
    embed_dims=(64, 128, 160, 320),
    depths=(2, 2, 6, 2),
    num_heads=(2, 4, 5, 10),
    window_sizes=(7, 7, 14, 7),
    mlp_ratio=4.0,
    mbconv_expand_ratio=4.0,
    local_conv_size=3,
    num_classes=1000,
    out_chans=256,
)


class ConvBN(nn.Sequential):
    """Bias-free conv followed by BatchNorm (children named ``c`` and ``bn``)."""

    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1, pad: int = 0,
                 groups: int = 1, bn_weight_init: float = 1.0) -> None:
        super().__init__()
        self.add_module("c", nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False))
        bn = nn.BatchNorm2d(cout)
        nn.init.constant_(bn.weight, bn_weight_init)
        nn.init.zeros_(bn.bias)
        self.add_module("bn", bn)


class LayerNorm2d(nn.Module):
    """Channel LayerNorm for NCHW tensors (SAM's ``LayerNorm2d``: ``weight``/``bias``)."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=1, keepdim=True)
        centered = x - mean
        var = centered.pow(2).mean(dim=1, keepdim=True)
        x = centered / torch.sqrt(var + self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class PatchEmbed(nn.Module):
    """Stem: two stride-2 3x3 ConvBN, GELU in between (``seq.0`` / ``seq.2``)."""

    def __init__(self, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.seq = nn.Sequential(
            ConvBN(in_chans, embed_dim // 2, 3, 2, 1),
            nn.GELU(),
            ConvBN(embed_dim // 2, embed_dim, 3, 2, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x)


class MBConv(nn.Module):
    """Inverted residual (1x1 expand, 3x3 depthwise, 1x1 project), GELU after the add."""

    def __init__(self, dim: int, expand_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * expand_ratio)
        self.conv1 = ConvBN(dim, hidden, 1)
        self.act1 = nn.GELU()
        self.conv2 = ConvBN(hidden, hidden, 3, 1, 1, groups=hidden)
        self.act2 = nn.GELU()
        self.conv3 = ConvBN(hidden, dim, 1, bn_weight_init=0.0)
        self.act3 = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act1(self.conv1(x))
        y = self.act2(self.conv2(y))
        y = self.conv3(y)
        return self.act3(x + y)


class PatchMerging(nn.Module):
    """Downsampling between stages; takes NCHW or (B, H*W, C) tokens, returns tokens."""

    def __init__(self, resolution: tuple[int, int], dim: int, out_dim: int, stride: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.conv1 = ConvBN(dim, out_dim, 1)
        self.conv2 = ConvBN(out_dim, out_dim, 3, stride, 1, groups=out_dim)
        self.conv3 = ConvBN(out_dim, out_dim, 1)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            h, w = self.resolution
            x = x.reshape(-1, h, w, x.shape[-1]).permute(0, 3, 1, 2)
        x = self.act(self.conv1(x))
        x = self.act(self.conv2(x))
        x = self.conv3(x)
        return x.flatten(2).transpose(1, 2)


class Mlp(nn.Module):
    """Pre-norm MLP (``norm``, ``fc1``, ``fc2``)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.norm(x))))


def _relative_offset_table(window: int) -> tuple[int, torch.Tensor]:
    """Indices of |dy|,|dx| offsets between all pairs of window positions (LeViT style).

    Returns the number of distinct offsets and an (N, N) long tensor, N = window**2, with
    offsets numbered in first-seen order over row-major point pairs (as upstream does, so
    the learned ``attention_biases`` columns line up).
    """
    points = list(itertools.product(range(window), range(window)))
    ids: dict[tuple[int, int], int] = {}
    table = []
    for (y1, x1) in points:
        for (y2, x2) in points:
            key = (abs(y1 - y2), abs(x1 - x2))
            table.append(ids.setdefault(key, len(ids)))
    n = len(points)
    return len(ids), torch.tensor(table, dtype=torch.long).view(n, n)


class Attention(nn.Module):
    """Multi-head self-attention over one window with learned relative-position biases."""

    def __init__(self, dim: int, num_heads: int, window: int) -> None:
        super().__init__()
        assert dim % num_heads == 0, "dim must be divisible by num_heads"
        self.num_heads = num_heads
        self.key_dim = dim // num_heads      # attn_ratio 1: value dim == key dim
        self.scale = self.key_dim ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        n_offsets, idxs = _relative_offset_table(window)
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, n_offsets))
        self.register_buffer("attention_bias_idxs", idxs, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, C)
        n, c = x.shape[1], x.shape[2]
        x = self.norm(x)
        qkv = self.qkv(x).reshape(-1, n, self.num_heads, 3 * self.key_dim).permute(0, 2, 1, 3)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.key_dim], dim=-1)
        bias = torch.index_select(self.attention_biases, 1,
                                  self.attention_bias_idxs.reshape(-1)).reshape(self.num_heads, n, n)
        attn = torch.matmul(q, k.transpose(-2, -1)) * self.scale + bias
        attn = attn.softmax(dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(-1, n, c)
        return self.proj(out)


class TinyViTBlock(nn.Module):
    """Window attention + depthwise local conv + MLP, all residual."""

    def __init__(self, dim: int, resolution: tuple[int, int], num_heads: int, window: int,
                 mlp_ratio: float, local_conv_size: int) -> None:
        super().__init__()
        self.dim = dim
        self.resolution = resolution
        self.window = window
        self.attn = Attention(dim, num_heads, window)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.local_conv = ConvBN(dim, dim, local_conv_size, 1, local_conv_size // 2, groups=dim)
        h, w = resolution
        self.pad_b = (window - h % window) % window
        self.pad_r = (window - w % window) % window

    def _window_attention(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.resolution
        ws, c = self.window, self.dim
        if h == ws and w == ws:
            return self.attn(x)
        x = x.reshape(-1, h, w, c)
        if self.pad_b or self.pad_r:
            x = F.pad(x, (0, 0, 0, self.pad_r, 0, self.pad_b))
        ph, pw = h + self.pad_b, w + self.pad_r
        nh, nw = ph // ws, pw // ws
        x = x.reshape(-1, nh, ws, nw, ws, c).transpose(2, 3).reshape(-1, ws * ws, c)
        x = self.attn(x)
        x = x.reshape(-1, nh, nw, ws, ws, c).transpose(2, 3).reshape(-1, ph, pw, c)
        if self.pad_b or self.pad_r:
            x = x[:, :h, :w]
        return x.reshape(-1, h * w, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, H*W, C)
        h, w = self.resolution
        c = self.dim
        x = x + self._window_attention(x)
        x = x.transpose(1, 2).reshape(-1, c, h, w)
        x = self.local_conv(x)
        x = x.reshape(-1, c, h * w).transpose(1, 2)
        return x + self.mlp(x)


class _Stage(nn.Module):
    """Blocks then optional patch merging (``blocks`` and ``downsample`` set by subclasses)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return x


class ConvStage(_Stage):
    """Stage 0: MBConv blocks (NCHW) then optional patch merging."""

    def __init__(self, dim: int, depth: int, expand_ratio: float,
                 downsample: PatchMerging | None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(MBConv(dim, expand_ratio) for _ in range(depth))
        self.downsample = downsample


class TransformerStage(_Stage):
    """Stages 1..n: TinyViT blocks on tokens, then optional patch merging."""

    def __init__(self, dim: int, resolution: tuple[int, int], depth: int, num_heads: int,
                 window: int, mlp_ratio: float, local_conv_size: int,
                 downsample: PatchMerging | None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            TinyViTBlock(dim, resolution, num_heads, window, mlp_ratio, local_conv_size)
            for _ in range(depth)
        )
        self.downsample = downsample



class TinyViT(nn.Module):
    """MobileSAM image encoder: (B, 3, S, S) normalised image -> (B, out_chans, S/16, S/16).

    As in MobileSAM, every downsampling halves the resolution except the last one
    (stride 1), so the final stage runs at 1/16 of the input.
    """

    def __init__(
        self,
        img_size: int = 1024,
        in_chans: int = 3,
        embed_dims: Sequence[int] = MOBILESAM_CONFIG["embed_dims"],
        depths: Sequence[int] = MOBILESAM_CONFIG["depths"],
        num_heads: Sequence[int] = MOBILESAM_CONFIG["num_heads"],
        window_sizes: Sequence[int] = MOBILESAM_CONFIG["window_sizes"],
        mlp_ratio: float = 4.0,
        mbconv_expand_ratio: float = 4.0,
        local_conv_size: int = 3,
        num_classes: int = 1000,
        out_chans: int = 256,
    ) -> None:
        super().__init__()
        n = len(depths)
        assert n >= 2 and len(embed_dims) == len(num_heads) == len(window_sizes) == n
        assert img_size % 16 == 0, "img_size must be a multiple of 16"
        self.img_size = img_size
        self.patch_embed = PatchEmbed(in_chans, embed_dims[0])

        res = img_size // 4
        self.layers = nn.ModuleList()
        for i in range(n):
            if i < n - 1:
                stride = 1 if i == n - 2 else 2
                down = PatchMerging((res, res), embed_dims[i], embed_dims[i + 1], stride)
            else:
                stride, down = 1, None
            if i == 0:
                layer: nn.Module = ConvStage(embed_dims[0], depths[0], mbconv_expand_ratio, down)
            else:
                layer = TransformerStage(embed_dims[i], (res, res), depths[i], num_heads[i],
                                         window_sizes[i], mlp_ratio, local_conv_size, down)
            self.layers.append(layer)
            res = (res + 1) // 2 if stride == 2 else res
        self.out_res = res
        assert res * 16 == img_size, (res, img_size)

        # Unused classifier head, kept only so the official checkpoint loads strictly.
        self.norm_head = nn.LayerNorm(embed_dims[-1])
        self.head = nn.Linear(embed_dims[-1], num_classes) if num_classes > 0 else nn.Identity()

        self.neck = nn.Sequential(
            nn.Conv2d(embed_dims[-1], out_chans, kernel_size=1, bias=False),
            LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_chans),
        )
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        r = self.out_res
        x = x.reshape(-1, r, r, x.shape[-1]).permute(0, 3, 1, 2)
        return self.neck(x)


def tiny_vit(
    img_size: int = 1024,
    embed_dims: Sequence[int] = MOBILESAM_CONFIG["embed_dims"],
    depths: Sequence[int] = MOBILESAM_CONFIG["depths"],
    num_heads: Sequence[int] = MOBILESAM_CONFIG["num_heads"],
    window_sizes: Sequence[int] = MOBILESAM_CONFIG["window_sizes"],
    out_chans: int = 256,
    num_classes: int = 1000,
    **kwargs,
) -> TinyViT:
    """Build a TinyViT encoder with an arbitrary (e.g. tiny, for tests) configuration."""
    return TinyViT(img_size=img_size, embed_dims=embed_dims, depths=depths, num_heads=num_heads,
                   window_sizes=window_sizes, out_chans=out_chans, num_classes=num_classes,
                   **kwargs).eval()


def mobilesam_image_encoder(img_size: int = 1024) -> TinyViT:
    """MobileSAM's image encoder (eval mode, random init).

    Load the official weights with::

        sd = torch.load("mobile_sam.pt", map_location="cpu")
        enc.load_state_dict({k[len("image_encoder."):]: v for k, v in sd.items()
                             if k.startswith("image_encoder.")})
    """
    return TinyViT(img_size=img_size, **MOBILESAM_CONFIG).eval()
