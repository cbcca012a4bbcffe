"""Segment-everything for the classic backend: a frame split into colour regions.

Not the SAM point-grid generator (that is :mod:`samstream.engine.everything`).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["colour_regions", "merge_regions", "EVERYTHING_MERGE_DIST"]

#: adjacent "everything" regions whose mean Lab colours (8-bit units) differ less are merged
EVERYTHING_MERGE_DIST = 14.0


def colour_regions(img: np.ndarray, min_area_frac: float = 0.002, max_masks: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Split a frame into colour regions ("segment everything", classic style).

    Steps: bilateral-smoothed copy (longest side 320 px) -> k-means (k = 10) in Lab with a
    deterministic start -> 5x5 majority filter -> connected pieces merged over their adjacency
    graph while their mean colours differ by less than :data:`EVERYTHING_MERGE_DIST` (textured
    surfaces), pieces under the minimum area merged into their closest neighbour -> each region
    upsampled to the frame.

    Each region's score (``[0, 1]``) is ``0.5 * solidity + 0.5 * edge`` (solidity = area over
    convex-hull area; edge = ``1 - 1 / r`` with ``r`` the mean gradient on its outline over
    the frame mean). Regions are ranked by ``(0.5 + 0.5 * score) * sqrt(area)`` (mostly by
    size, so the kept masks cover most of the frame) and the first ``max_masks`` returned.

    Args:
        img: ``uint8 (H, W, 3)`` BGR.
        min_area_frac: smallest region kept, as a fraction of the frame area, in ``(0, 1)``.
        max_masks: at most this many masks (integer ``>= 1``).

    Returns:
        ``masks`` ``(M, H, W)`` bool, non-overlapping, in frame pixels; ``scores`` ``(M,)``
        float32 in ``[0, 1]``; in rank order; ``M <= max_masks`` (0 when nothing qualifies).

    Raises:
        ValueError: for ``min_area_frac`` or ``max_masks`` out of range.
    """
    if not 0.0 < float(min_area_frac) < 1.0:
        raise ValueError(f"min_area_frac must be in (0, 1) (a fraction of the frame area), got {min_area_frac!r}.")
    if not isinstance(max_masks, (int, np.integer)) or max_masks < 1:
        raise ValueError(f"max_masks must be an integer >= 1, got {max_masks!r}.")
    h, w = img.shape[:2]
    s = min(1.0, 320.0 / max(h, w))
    sw, sh = max(1, round(w * s)), max(1, round(h * s))
    small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA) if s < 1.0 else img.copy()
    small = cv2.bilateralFilter(small, 7, 30, 7)
    small = cv2.bilateralFilter(small, 7, 30, 7)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
    k = 10
    data = lab.reshape(-1, 3).astype(np.float32)
    # deterministic start: bins of lightness x rough hue side
    lum = np.clip((data[:, 0] * (k // 2) / 256.0).astype(np.int32), 0, k // 2 - 1)
    side = (data[:, 1] + data[:, 2] > 256).astype(np.int32)
    init = (lum * 2 + side).astype(np.int32).reshape(-1, 1)
    crit = (cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS, 8, 0.5)
    _, labels, _ = cv2.kmeans(data, k, init, crit, 1, cv2.KMEANS_USE_INITIAL_LABELS)
    labels = labels.reshape(sh, sw)
    # majority (mode) filter over a 5x5 window: removes speckle without inventing labels
    votes = np.stack([cv2.boxFilter((labels == c).astype(np.float32), -1, (5, 5)) for c in range(k)])
    labels = np.argmax(votes, axis=0).astype(np.uint8)
    # textured surfaces split into interleaved clusters: merge adjacent pieces of similar
    # mean colour, then pieces below the minimum area into their closest neighbour
    min_small = max(4, int(min_area_frac * sh * sw))
    labels = merge_regions(labels, k, lab.astype(np.float32), EVERYTHING_MERGE_DIST, min_small)
    k = int(labels.max()) + 1
    regions = []
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
    mag = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    mean_mag = float(mag.mean()) + 1e-3
    flat = labels.ravel()
    areas = np.bincount(flat, minlength=k)
    order = np.argsort(flat, kind="stable")
    starts = np.concatenate([[0], np.cumsum(areas)])
    for c in np.flatnonzero((areas >= min_small) & (areas <= 0.95 * sh * sw)):
        area = int(areas[c])
        pix = order[starts[c]:starts[c + 1]]
        ys, xs = pix // sw, pix % sw
        x, y = int(xs.min()), int(ys.min())
        bw, bh = int(xs.max()) - x + 1, int(ys.max()) - y + 1
        sub = (labels[y:y + bh, x:x + bw] == c).astype(np.uint8)
        cnts, _ = cv2.findContours(sub, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull = cv2.convexHull(np.concatenate(cnts)) if cnts else None
        solidity = area / max(1.0, cv2.contourArea(hull)) if hull is not None else 0.0
        sub_pad = cv2.copyMakeBorder(sub, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
        outline = cv2.morphologyEx(sub_pad, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))[1:-1, 1:-1] > 0
        m = mag[y:y + bh, x:x + bw][outline]
        r = float(m.mean()) / mean_mag if m.size else 0.0
        edge = max(0.0, 1.0 - 1.0 / max(r, 1e-3))
        score = float(np.clip(0.5 * min(1.0, solidity) + 0.5 * edge, 0.0, 1.0))
        # rank: mostly by size (so that max_masks keeps the regions covering most of the
        # frame), moderated by the confidence
        rank = (0.5 + 0.5 * score) * np.sqrt(area)
        regions.append((rank, score, int(c), (x, y, bw, bh)))
    regions.sort(key=lambda t: -t[0])
    regions = regions[: int(max_masks)]
    masks = np.zeros((len(regions), h, w), bool)
    scores = np.zeros(len(regions), np.float32)
    for i, (_rank, score, c, (x, y, bw, bh)) in enumerate(regions):
        sub = (labels[y:y + bh, x:x + bw] == c).astype(np.float32)
        fx0, fy0 = int(np.floor(x / s)), int(np.floor(y / s))
        fx1, fy1 = min(w, int(np.ceil((x + bw) / s))), min(h, int(np.ceil((y + bh) / s)))
        up = cv2.resize(sub, (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_LINEAR) > 0.5
        masks[i, fy0:fy1, fx0:fx1] = up
        scores[i] = score
    # the upsampled regions may overlap by a pixel at their borders: first (best) wins
    if len(masks) > 1:
        taken = np.zeros((h, w), bool)
        for i in range(len(masks)):
            masks[i] &= ~taken
            taken |= masks[i]
    return masks, scores


def merge_regions(labels: np.ndarray, k: int, lab: np.ndarray, max_dist: float, min_area: int) -> np.ndarray:
    """Connected pieces of a cluster map, merged greedily (region adjacency graph).

    ``labels`` ``(h, w)`` uint8 cluster ids ``< k``; ``lab`` ``(h, w, 3)`` float32 colours. Adjacent
    pieces whose mean colours differ by less than ``max_dist`` are merged (closest pairs first),
    then pieces smaller than ``min_area`` pixels join their closest-coloured neighbour. Returns
    ``(h, w)`` int32 region ids ``0..n-1``.
    """
    h, w = labels.shape
    comp = np.zeros((h, w), np.int32)
    n = 0
    for c in range(k):
        m = (labels == c).astype(np.uint8)
        if not m.any():
            continue
        nc, cc = cv2.connectedComponents(m, connectivity=4)
        sel = cc > 0
        comp[sel] = cc[sel] + (n - 1)
        n += nc - 1
    flat = comp.ravel()
    cnt = np.bincount(flat, minlength=n).astype(np.float64)
    sums = np.stack([np.bincount(flat, weights=lab[..., ch].ravel(), minlength=n) for ch in range(3)], axis=1)
    a = np.concatenate([comp[:, :-1].ravel(), comp[:-1, :].ravel()])
    b = np.concatenate([comp[:, 1:].ravel(), comp[1:, :].ravel()])
    diff = a != b
    a, b = np.minimum(a[diff], b[diff]), np.maximum(a[diff], b[diff])
    pairs = np.unique(a.astype(np.int64) * n + b)
    pa, pb = (pairs // n).astype(np.int64), (pairs % n).astype(np.int64)
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def dist(x: int, y: int) -> float:
        return float(np.linalg.norm(sums[x] / cnt[x] - sums[y] / cnt[y]))

    means = sums / cnt[:, None]
    order = np.argsort(np.linalg.norm(means[pa] - means[pb], axis=1), kind="stable")
    for pass_small in (False, True):
        for e in order:
            x, y = find(int(pa[e])), find(int(pb[e]))
            if x == y:
                continue
            if pass_small:
                if min(cnt[x], cnt[y]) >= min_area:
                    continue
            elif dist(x, y) >= max_dist:
                continue
            if cnt[x] < cnt[y]:
                x, y = y, x
            parent[y] = x
            cnt[x] += cnt[y]
            sums[x] += sums[y]
    roots = np.array([find(i) for i in range(n)])
    _, relabel = np.unique(roots, return_inverse=True)
    return relabel.astype(np.int32)[comp]
