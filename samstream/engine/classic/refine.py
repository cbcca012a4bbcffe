"""Band refinement and the GrabCut steps of the classic backend.

Masks are ``(gh, gw)`` bool on a working :class:`~.prompts.Grid`; trimaps are ``(gh, gw)``
uint8 with OpenCV's GrabCut labels (``GC_BGD``, ``GC_FGD``, ``GC_PR_BGD``, ``GC_PR_FGD``);
images are ``uint8 (gh, gw, 3)`` BGR.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import ClassicConfig
from .guided import apply_guided, guided_coeffs, planes
from .prompts import Grid, PromptSeeds, apply_hard

__all__ = ["refine_band", "graphcut_vote", "band_trimap", "grabcut", "clean", "ring", "colour_prob",
           "colour_evidence", "HIST_BINS"]

#: colour histogram bins per BGR channel for the colour-ratio seeds
HIST_BINS = 16


def refine_band(
    cfg: ClassicConfig, fine_img: np.ndarray, fine: Grid, base: np.ndarray, band: int, seeds: PromptSeeds,
    lab_small: np.ndarray, connected_only: bool = False, vote: bool = True,
) -> np.ndarray:
    """Decide the ``band``-pixel band around ``base`` on the fine grid; bool ``(gh, gw)``.

    Outside the band the labels are fixed (core = object, far outside = background, plus
    the hard prompt labels). In the band each pixel gets the logit

    ``z = colour_weight * w * e + d / (prior_sigma * band)``

    where ``d`` is the signed distance (fine pixels, > 0 inside) to the outline of ``base``
    (the shape prior), ``e`` in about ``[-1, 1]`` says whether the pixel's colour is closer to
    the object or to the background -- half from *local* colour means/variances of the fixed
    object and background pixels within ``local_radius * band`` (box filters), half from
    global colour histograms -- and ``w`` in ``[0, 1]`` is how well the local colours
    separate (a Fisher ratio). Where colours do not separate, the answer stays at the prior.
    ``sigmoid(z)`` is edge-aware smoothed with a guided filter, mixed with a banded GrabCut
    vote (weight ``graphcut_weight``; only when ``vote``, i.e. for mask prompts: box / click
    outlines already come from a GrabCut) and thresholded at 0.5.
    """
    tri_full = band_trimap(base, band)
    apply_hard(tri_full, fine, seeds, lab_small, band)
    unknown = (tri_full == cv2.GC_PR_FGD) | (tri_full == cv2.GC_PR_BGD)
    if not unknown.any():
        return tri_full == cv2.GC_FGD
    # everything outside the band is fixed: work on the band's bounding box plus the
    # local-colour window radius only
    radius = max(3, int(cfg.local_radius * band + 2))
    ys = np.flatnonzero(unknown.any(axis=1))
    xs = np.flatnonzero(unknown.any(axis=0))
    gh, gw = tri_full.shape
    cy0, cy1 = max(0, ys[0] - radius), min(gh, ys[-1] + 1 + radius)
    cx0, cx1 = max(0, xs[0] - radius), min(gw, xs[-1] + 1 + radius)
    tri = np.ascontiguousarray(tri_full[cy0:cy1, cx0:cx1])
    img_c = np.ascontiguousarray(fine_img[cy0:cy1, cx0:cx1])
    sure_f = tri == cv2.GC_FGD
    sure_b = tri == cv2.GC_BGD
    if sure_f.sum() < 8 or sure_b.sum() < 8:
        seg_c = grabcut(img_c, tri, cfg.fine_iters)
    else:
        guide = planes(img_c)
        b8 = np.ascontiguousarray(base[cy0:cy1, cx0:cx1]).astype(np.uint8)
        dist = cv2.distanceTransform(b8, cv2.DIST_L2, 3) - cv2.distanceTransform(1 - b8, cv2.DIST_L2, 3)
        e, wconf = colour_evidence(guide, img_c, sure_f, sure_b, radius)
        z = cfg.colour_weight * wconf * e + dist / max(1.0, cfg.prior_sigma * band)
        prob = 1.0 / (1.0 + np.exp(-np.clip(z, -20.0, 20.0)))
        prob[sure_f] = 1.0
        prob[sure_b] = 0.0
        if cfg.guide_radius > 0:
            a, b = guided_coeffs(guide, prob.astype(np.float32), cfg.guide_radius, cfg.guide_eps)
            prob = apply_guided(a, b, guide)
        if cfg.graphcut_weight > 0 and vote:
            prob = (1.0 - cfg.graphcut_weight) * prob + cfg.graphcut_weight * graphcut_vote(cfg, img_c, tri)
        seg_c = prob > 0.5
        seg_c[sure_f] = True
        seg_c[sure_b] = False
    seg = tri_full == cv2.GC_FGD
    seg[cy0:cy1, cx0:cx1] = seg_c
    return clean(seg, tri_full, connected_only)


def graphcut_vote(cfg: ClassicConfig, img_c: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Banded GrabCut on a trimap crop, run at most ``vote_side`` px: float32 0/1 ``(ch, cw)`` (bilinear)."""
    ch, cw = tri.shape
    s = min(1.0, cfg.vote_side / float(max(ch, cw)))
    if s >= 1.0:
        return grabcut(img_c, tri, cfg.fine_iters).astype(np.float32)
    sz = (max(1, int(round(cw * s))), max(1, int(round(ch * s))))
    small_img = cv2.resize(img_c, sz, interpolation=cv2.INTER_AREA)
    small_tri = cv2.resize(tri, sz, interpolation=cv2.INTER_NEAREST)
    seg = grabcut(small_img, small_tri, cfg.fine_iters).astype(np.float32)
    return cv2.resize(seg, (cw, ch), interpolation=cv2.INTER_LINEAR)


def band_trimap(base: np.ndarray, band: int) -> np.ndarray:
    """Bool prior -> GrabCut trimap: eroded core FGD, far outside BGD, a ``band``-px band probable."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    b8 = base.astype(np.uint8)
    core = cv2.erode(b8, k, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    near = cv2.dilate(b8, k) > 0
    tri = np.full(base.shape, cv2.GC_BGD, np.uint8)
    tri[near] = cv2.GC_PR_BGD
    tri[base] = cv2.GC_PR_FGD
    tri[core] = cv2.GC_FGD
    return tri


def grabcut(img: np.ndarray, tri: np.ndarray, iters: int) -> np.ndarray:
    """GrabCut from a trimap; returns bool foreground. Falls back to the trimap when it cannot run."""
    fg = (tri == cv2.GC_FGD) | (tri == cv2.GC_PR_FGD)
    n_fg = int(fg.sum())
    n_bg = tri.size - n_fg
    unknown = (tri == cv2.GC_PR_FGD) | (tri == cv2.GC_PR_BGD)
    if n_fg < 8 or n_bg < 8 or not unknown.any():
        return fg
    m = tri.copy()
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    try:
        # GrabCut seeds its GMMs with k-means on OpenCV's (per-thread) RNG: fix it so that the
        # same frame and prompt always give the same mask
        cv2.setRNGSeed(0x5A5)
        cv2.grabCut(img, m, None, bgd, fgd, int(iters), cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return fg
    return (m == cv2.GC_FGD) | (m == cv2.GC_PR_FGD)


def clean(seg: np.ndarray, tri: np.ndarray, connected_only: bool = False) -> np.ndarray:
    """Drop specks and fill small holes of a bool mask (``tri``: its trimap, same shape).

    Keeps the components that hold certain foreground and, unless ``connected_only``, those of
    at least 15% of the largest one; fills holes smaller than 1% of the mask.
    """
    if not seg.any():
        return seg
    n, cc, stats, _ = cv2.connectedComponentsWithStats(seg.astype(np.uint8), connectivity=8)
    if n > 2 or connected_only:
        sure = np.unique(cc[tri == cv2.GC_FGD])
        sure = sure[sure > 0]
        if connected_only and sure.size:
            keep = np.zeros(n - 1, bool)
        else:
            areas = stats[1:, cv2.CC_STAT_AREA]
            keep = areas >= 0.15 * areas.max()
        keep[sure - 1] = True
        seg = np.concatenate([[False], keep])[cc]
    inv = (~seg).astype(np.uint8)
    n, cc, stats, _ = cv2.connectedComponentsWithStats(inv, connectivity=4)
    if n > 2:
        limit = 0.01 * float(seg.sum())
        hh, ww = seg.shape
        x, y, bw, bh, a = (stats[1:, k] for k in range(5))
        fill = (a <= limit) & (x > 0) & (y > 0) & (x + bw < ww) & (y + bh < hh)
        if fill.any():
            seg = seg | np.concatenate([[False], fill])[cc]
    return seg


def ring(a: np.ndarray, width: int, value) -> None:
    """Set the outer ``width`` pixels of ``a`` to ``value`` in place."""
    a[:width, :] = value
    a[-width:, :] = value
    a[:, :width] = value
    a[:, -width:] = value


def colour_prob(img: np.ndarray, fg: np.ndarray, bg: np.ndarray, mixture: bool) -> np.ndarray:
    """Per-pixel foreground probability ``(h, w)`` float32 from smoothed BGR colour histograms.

    ``fg`` / ``bg`` are bool sample regions. With ``mixture=False`` they are pure samples and
    ``p = d_fg / (d_fg + d_bg)``. With ``mixture=True`` (a box) the ``fg`` region holds the object
    *and* some background, so ``d_in = a d_obj + (1 - a) d_bg`` and
    ``p = 1 - (1 - a) d_bg / d_in``; the object fraction ``a`` is estimated by a few fixed-point
    steps ``a = mean(p over the box)``.
    """
    b = HIST_BINS
    q = (img.astype(np.int32) * b) >> 8
    idx = (q[..., 0] * b + q[..., 1]) * b + q[..., 2]
    hf = _blur_hist(np.bincount(idx[fg], minlength=b ** 3).astype(np.float32).reshape(b, b, b))
    hb = _blur_hist(np.bincount(idx[bg], minlength=b ** 3).astype(np.float32).reshape(b, b, b))
    df = (hf / max(float(hf.sum()), 1e-6)).reshape(-1)
    db = (hb / max(float(hb.sum()), 1e-6)).reshape(-1)
    if mixture:
        r = (db / (df + 1e-9))[idx]
        a = 0.5
        for _ in range(3):
            a = float(np.clip(np.clip(1.0 - (1.0 - a) * r[fg], 0.0, 1.0).mean(), 0.15, 0.85))
        p = np.clip(1.0 - (1.0 - a) * r, 0.0, 1.0)
        p[~fg] = 0.0
    else:
        p = (df / (df + db + 1e-9))[idx]
    return cv2.GaussianBlur(p.astype(np.float32), (3, 3), 0)


def _blur_hist(h: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Separable Gaussian blur of a cubic 3-D histogram (zero outside)."""
    b = h.shape[0]
    k = int(2 * round(2 * sigma) + 1)
    h = cv2.GaussianBlur(np.ascontiguousarray(h), (k, k), sigma, borderType=cv2.BORDER_CONSTANT)
    g = cv2.getGaussianKernel(k, sigma).astype(np.float32)
    one = np.ones((1, 1), np.float32)
    return cv2.sepFilter2D(
        np.ascontiguousarray(h.reshape(b * b, b)), -1, g, one, borderType=cv2.BORDER_CONSTANT
    ).reshape(b, b, b)


def colour_evidence(
    g: list[np.ndarray], img: np.ndarray, fg: np.ndarray, bg: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Colour evidence ``e`` (about ``[-1, 1]``, > 0 = object-like) and its confidence ``w`` in ``[0, 1]``.

    ``g`` holds the image as three float32 ``[0, 1]`` planes, ``img`` the same ``uint8 (h, w, 3)``;
    ``fg`` / ``bg`` are the fixed sample pixels. Local part: object / background colour means and
    variances in a ``(2 radius + 1)^2`` window (unnormalised box filters),
    ``e_loc = (|I - m_b|^2 - |I - m_f|^2) / (|m_f - m_b|^2 + v_f + v_b)`` and
    ``w = |m_f - m_b|^2 / (|m_f - m_b|^2 + v_f + v_b)``. Global part: the log ratio of smoothed
    colour histograms, scaled to ``[-1, 1]``, added with weight 0.5. Where a window lacks
    samples of either side only the global part is used, with ``w = 0.5``. Both ``(h, w)`` float32.
    """
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x):
        return cv2.boxFilter(x, -1, k, normalize=False, borderType=cv2.BORDER_CONSTANT)

    ff = fg.astype(np.float32)
    bf = bg.astype(np.float32)
    sq = g[0] * g[0] + g[1] * g[1] + g[2] * g[2]
    n_f = box(ff)
    n_b = box(bf)
    inv_f = 1.0 / np.maximum(n_f, 1.0)
    inv_b = 1.0 / np.maximum(n_b, 1.0)
    mu_f = [box(c * ff) * inv_f for c in g]
    mu_b = [box(c * bf) * inv_b for c in g]
    v_f = box(sq * ff) * inv_f
    v_b = box(sq * bf) * inv_b
    sep = np.zeros_like(sq)
    d_f = np.zeros_like(sq)
    d_b = np.zeros_like(sq)
    for c, mf, mb in zip(g, mu_f, mu_b):
        v_f -= mf * mf
        v_b -= mb * mb
        sep += (mf - mb) ** 2
        d_f += (c - mf) ** 2
        d_b += (c - mb) ** 2
    denom = sep + np.maximum(v_f, 1e-4) + np.maximum(v_b, 1e-4)
    pg = colour_prob(img, fg, bg, mixture=False)
    e_glob = np.clip(np.log((pg + 1e-3) / (1.0 - pg + 1e-3)), -4.0, 4.0) * 0.25
    ok = (n_f >= 5) & (n_b >= 5)
    e = np.where(ok, (d_b - d_f) / denom + 0.5 * e_glob, e_glob)
    w = np.where(ok, sep / denom, 0.5)
    return e.astype(np.float32), w.astype(np.float32)
