"""Instance masks for ``iou_type="segm"``: COCO segmentations as pixel intervals, and mask IoU, in NumPy.

A mask of an ``h × w`` image is stored as sorted, disjoint half-open intervals ``[start, end)`` of the
column-major pixel index (``x * h + y``), the order of COCO's run-length encoding (RLE: counts of
alternating 0s and 1s, starting with 0s).

Accepted segmentations, as pycocotools' ``COCO.annToRLE`` / ``mask.frPyObjects``:

* polygons ``[[x0, y0, x1, y1, ...], ...]`` (their union), rasterized exactly as pycocotools'
  ``rleFrPoly``: vertices scaled by 5 and rounded, edges walked pixel by pixel, x-crossings sampled at
  pixel centres; a list whose first element has 4 numbers is read as boxes ``[x, y, w, h]``, as
  pycocotools does;
* uncompressed RLE ``{"counts": [int, ...], "size": [h, w]}``;
* compressed RLE ``{"counts": "string", "size": [h, w]}`` (COCO's 6-bit LEB128-like code with counts
  stored as differences to the count two places back).

Mask IoU as pycocotools' ``rleIou``: ``|A∩B| / |A∪B|``, for crowd ground truth ``|A∩B| / |A|`` (A the
detection); masks of different sizes give -1.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Masks", "decode_rle_string", "masks_from_segmentations", "mask_iou_pairs"]

_SCALE = 5.0


class Masks:
    """A list of masks as flat interval arrays: mask ``i`` owns ``start[off[i]:off[i+1]]`` (and ``end``),
    image sizes ``h[i]``, ``w[i]``; ``area[i]`` is its pixel count (int64)."""

    def __init__(self, parts: list[tuple[NDArray, NDArray]], h: NDArray, w: NDArray) -> None:
        counts = np.array([len(s) for s, _ in parts], dtype=np.int64)
        self.off = np.r_[0, np.cumsum(counts)]
        self.start = np.concatenate([s for s, _ in parts]) if parts else np.zeros(0, np.int64)
        self.end = np.concatenate([e for _, e in parts]) if parts else np.zeros(0, np.int64)
        self.h = np.asarray(h, dtype=np.int64)
        self.w = np.asarray(w, dtype=np.int64)
        lengths = self.end - self.start
        cum = np.r_[0, np.cumsum(lengths)]
        self.area = cum[self.off[1:]] - cum[self.off[:-1]]  # [n]


def decode_rle_string(s: str | bytes) -> NDArray[np.int64]:
    """Counts of a compressed COCO RLE string (inverse of pycocotools' ``rleToString``)."""
    c = np.frombuffer(s.encode() if isinstance(s, str) else bytes(s), dtype=np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return np.zeros(0, dtype=np.int64)
    last = (c & 0x20) == 0  # a number ends at a character without the continuation bit
    ends = np.flatnonzero(last)
    if ends.size == 0 or ends[-1] != c.size - 1:
        raise ValueError(f"compressed RLE string is truncated: {s[:40]!r}")
    starts = np.r_[0, ends[:-1] + 1]
    k = np.arange(c.size) - np.repeat(starts, ends - starts + 1)  # digit position inside its number
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    neg = (c[ends] & 0x10) != 0
    x = x - np.where(neg, np.left_shift(1, 5 * (ends - starts + 1)), 0)  # sign extension
    # counts from index 3 on are stored as differences to the count two places back
    out = x.copy()
    for first in (1, 2):  # counts[m] = x[m] + counts[m - 2] for m >= 3: running sums of every other
        idx = np.arange(first, len(x), 2)
        out[idx] = np.cumsum(x[idx])
    return out


def _intervals_from_counts(counts: NDArray[np.int64]) -> tuple[NDArray, NDArray]:
    ends = np.cumsum(counts)
    on = np.arange(1, len(counts), 2)  # runs 1, 3, 5 ... are ones
    s, e = ends[on - 1], ends[on]
    keep = e > s
    return s[keep], e[keep]


def _toggles_from_polygon(xy: NDArray[np.float64], h: int, w: int) -> NDArray[np.int64]:
    """Toggle positions (column-major) of one polygon, as pycocotools' ``rleFrPoly`` computes them."""
    k = len(xy) // 2
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    x = (_SCALE * xy[0 : 2 * k : 2] + 0.5).astype(np.int64)  # C (int) cast: truncation toward zero
    y = (_SCALE * xy[1 : 2 * k : 2] + 0.5).astype(np.int64)
    xs, ys = x, y
    xe, ye = np.r_[x[1:], x[:1]], np.r_[y[1:], y[:1]]
    dx, dy = np.abs(xe - xs), np.abs(ys - ye)
    flip = ((dx >= dy) & (xs > xe)) | ((dx < dy) & (ys > ye))
    xs, xe = np.where(flip, xe, xs), np.where(flip, xs, xe)
    ys, ye = np.where(flip, ye, ys), np.where(flip, ys, ye)
    horiz = dx >= dy
    n_pts = np.where(horiz, dx, dy) + 1  # points per edge
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(horiz, (ye - ys) / np.where(dx == 0, 1, dx), (xe - xs) / np.where(dy == 0, 1, dy))
    s = np.where(horiz & (dx == 0), 0.0, s)  # dx = dy = 0: one point, slope unused
    edge = np.repeat(np.arange(k), n_pts)
    d = np.arange(n_pts.sum()) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts)
    span = np.where(horiz, dx, dy)[edge]
    t = np.where(flip[edge], span - d, d)
    h_e = horiz[edge]
    u = np.where(h_e, t + xs[edge], (xs[edge] + s[edge] * t + 0.5).astype(np.int64))
    v = np.where(h_e, (ys[edge] + s[edge] * t + 0.5).astype(np.int64), t + ys[edge])
    # x-crossings, sampled at pixel centres, then down-sampled
    j = np.flatnonzero(u[1:] != u[:-1]) + 1
    xd = np.where(u[j] < u[j - 1], u[j], u[j] - 1).astype(np.float64)
    xd = (xd + 0.5) / _SCALE - 0.5
    ok = (np.floor(xd) == xd) & (xd >= 0) & (xd <= w - 1)
    j, xd = j[ok], xd[ok]
    yd = np.minimum(v[j], v[j - 1]).astype(np.float64)
    yd = (yd + 0.5) / _SCALE - 0.5
    yd = np.ceil(np.clip(yd, 0, h))
    return xd.astype(np.int64) * h + yd.astype(np.int64)


def _intervals_from_toggles(toggles: NDArray[np.int64], hw: int) -> tuple[NDArray, NDArray]:
    """On-intervals from toggle positions: a position toggled an odd number of times flips the state."""
    pos, cnt = np.unique(toggles, return_counts=True)
    pos = pos[(cnt % 2 == 1) & (pos < hw)]
    if len(pos) % 2:
        pos = np.r_[pos, hw]
    return pos[0::2], pos[1::2]


def _union(parts: list[tuple[NDArray, NDArray]]) -> tuple[NDArray, NDArray]:
    """Union of interval sets (pycocotools' ``merge`` of several polygons of one object)."""
    if len(parts) == 1:
        return parts[0]
    s = np.concatenate([p[0] for p in parts])
    e = np.concatenate([p[1] for p in parts])
    if s.size == 0:
        return s, e
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    new = np.r_[True, s[1:] > reach[:-1]]  # an interval starting after everything before it ends
    starts = s[new]
    ends = reach[np.r_[np.flatnonzero(new)[1:] - 1, len(s) - 1]]
    return starts, ends


def _one(segm: object, h: int | None, w: int | None, where: str) -> tuple[tuple[NDArray, NDArray], int, int]:
    """One segmentation as intervals; every error names ``where`` (file, record and field)."""
    try:
        return _one_unnamed(segm, h, w, where)
    except (ValueError, TypeError, OverflowError) as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(where) else f"{where}: {msg}") from None


def _size(value: object) -> tuple[int, int]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise ValueError(f"RLE size must be [height, width] (two non-negative integers), got {value!r}")
    return int(value[0]), int(value[1])


def _one_unnamed(segm: object, h: int | None, w: int | None, where: str) -> tuple[tuple[NDArray, NDArray], int, int]:
    if isinstance(segm, list):
        if h is None or w is None:
            raise ValueError(f"{where}: polygon segmentations need the image's 'height' and 'width'")
        if not segm:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64)), h, w
        polys = []
        boxes = len(segm[0]) == 4  # pycocotools reads such a list as boxes
        for p in segm:
            if not isinstance(p, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p):
                raise ValueError(f"a polygon must be a list of numbers [x0, y0, x1, y1, ...], got {str(p)[:60]}")
            xy = np.asarray(p, dtype=np.float64).reshape(-1)
            if not np.all(np.isfinite(xy)):
                raise ValueError(f"{where}: segmentation coordinates must be finite")
            if boxes:
                x0, y0, bw, bh = xy[:4]
                xy = np.array([x0, y0, x0, y0 + bh, x0 + bw, y0 + bh, x0 + bw, y0])
            polys.append(_intervals_from_toggles(_toggles_from_polygon(xy, h, w), h * w))
        return _union(polys), h, w
    if isinstance(segm, dict) and "counts" in segm and "size" in segm:
        rh, rw = _size(segm["size"])
        counts = segm["counts"]
        if isinstance(counts, list):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts):
                raise ValueError("RLE counts must be a list of integers (or a compressed string)")
            c = np.asarray(counts, dtype=np.int64)
        elif isinstance(counts, (str, bytes)):
            c = decode_rle_string(counts)
        else:
            raise ValueError(f"{where}: segmentation counts must be a list or a string, got {type(counts).__name__}")
        if c.size and (c.min() < 0 or c.sum() > rh * rw):
            raise ValueError(f"{where}: RLE counts must be non-negative and sum to at most h*w={rh * rw}")
        return _intervals_from_counts(c), rh, rw
    raise ValueError(f"{where}: segmentation must be polygons or an RLE dict with 'counts' and 'size'")


def masks_from_segmentations(
    segms: list, heights: list[int | None], widths: list[int | None], where: list[str]
) -> Masks:
    """Masks of a list of COCO segmentations (image sizes per item; ``where`` names each record)."""
    parts, hs, ws = [], [], []
    for segm, h, w, name in zip(segms, heights, widths, where, strict=True):
        iv, mh, mw = _one(segm, h, w, name)
        parts.append(iv)
        hs.append(mh)
        ws.append(mw)
    return Masks(parts, np.array(hs, dtype=np.int64), np.array(ws, dtype=np.int64))


def mask_iou_pairs(
    dt: Masks, gt: Masks, pair_dt: NDArray[np.int64], pair_gt: NDArray[np.int64], crowd: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """IoU of mask pairs ``(dt[pair_dt[p]], gt[pair_gt[p]])``, ``[P]`` float64, crowd rule as pycocotools.

    Vectorized over pairs: every detection mask lives in its own stretch of one global axis, so
    ``|A∩B|`` is, for each interval of B, the number of A's pixels under it, read from one cumulative
    count of all detection pixels (``searchsorted``).
    """
    P = len(pair_dt)
    if P == 0:
        return np.zeros(0)
    size = dt.h * dt.w + 1
    base = np.r_[0, np.cumsum(size)[:-1]]  # [nd] start of each detection's stretch
    n_iv = np.diff(dt.off)
    S = dt.start + np.repeat(base, n_iv)  # global starts   [I]
    L = dt.end - dt.start
    cum_before = np.cumsum(L) - L

    def covered(x: NDArray[np.int64]) -> NDArray[np.int64]:
        k = np.searchsorted(S, x, side="right") - 1
        kk = np.maximum(k, 0)
        val = cum_before[kk] + np.clip(x - S[kk], 0, L[kk]) if S.size else np.zeros_like(x)
        return np.where(k >= 0, val, 0)

    g_n = np.diff(gt.off)[pair_gt]  # intervals of each pair's ground truth
    pair_of = np.repeat(np.arange(P), g_n)
    iv = np.repeat(gt.off[pair_gt], g_n) + np.arange(g_n.sum()) - np.repeat(np.cumsum(g_n) - g_n, g_n)
    b = base[pair_dt[pair_of]]
    inside = covered(b + gt.end[iv]) - covered(b + gt.start[iv])
    inter = np.bincount(pair_of, weights=inside, minlength=P).astype(np.int64)
    a_d, a_g = dt.area[pair_dt], gt.area[pair_gt]
    union = np.where(crowd, a_d, a_d + a_g - inter)
    iou = np.where(inter > 0, inter / np.maximum(union, 1), 0.0)
    same = (dt.h[pair_dt] == gt.h[pair_gt]) & (dt.w[pair_dt] == gt.w[pair_gt])
    return np.where(same, iou, -1.0)
