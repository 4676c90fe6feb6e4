"""Polygons → mask intervals for every polygon of a file at once, exactly as pycocotools' ``rleFrPoly``.

pycocotools (``maskApi.c``) scales the vertices by 5 and rounds them (C ``int`` cast), walks every edge one
step at a time along its longer axis (the "upsampled" boundary), and keeps the steps where the x coordinate
changes and lands on a pixel centre after down-sampling; each such crossing toggles the mask at
``x * h + ceil(y)`` (column-major). Here the same crossings are computed without walking every step:

* an edge walked along x (``dx >= dy``) changes x at *every* step, and only steps whose lower x is
  ``2 (mod 5)`` land on a pixel centre, so exactly those steps are generated (one in five);
* an edge walked along y (``dx < dy``) needs its x at every step (``int(xs + s t + 0.5)``, the same float
  operations as the C code), but y there is just ``t + ys``;
* the step from the last point of one edge to the first point of the next is checked on its own (for
  negative coordinates the C cast can make them differ).

Vectorized over all polygons of all masks (no Python loop over polygons); the toggles become intervals per
polygon, and the polygons of one object are merged (their union), as ``rleMerge`` does.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["polygon_intervals"]

_SCALE = 5.0


def _segment_index(counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For segments of the given lengths: the segment of each element and its position inside."""
    seg = np.repeat(np.arange(len(counts)), counts)
    return seg, np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def _edge_point(
    horiz: NDArray, xs: NDArray, ys: NDArray, s: NDArray, t: NDArray
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(u, v)`` of step ``t`` of edges, as the C code computes them (``(int)`` truncates toward zero)."""
    along = np.where(horiz, ys, xs) + s * t + 0.5  # the coordinate that is interpolated
    r = along.astype(np.int64)
    return np.where(horiz, t + xs, r), np.where(horiz, r, t + ys)


def polygon_intervals(
    coords: list[NDArray[np.float64]], owner: NDArray[np.int64], h: NDArray[np.int64], w: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Union of the polygons of each object as column-major intervals ``[start, end)``.

    Args:
        coords: one ``[x0, y0, x1, y1, ...]`` float64 array per polygon (an odd trailing value is ignored).
        owner: ``[P]`` the object (mask index) of each polygon; ``h``, ``w``: ``[P]`` its image size.

    Returns:
        ``(item, start, end)``: intervals sorted by object, then start.
    """
    empty = np.zeros(0, np.int64)
    k = np.array([len(c) // 2 for c in coords], dtype=np.int64)  # vertices per polygon
    if k.sum() == 0:
        return empty, empty, empty
    xy = np.concatenate([c[: 2 * n] for c, n in zip(coords, k, strict=True)])
    X = (_SCALE * xy[0::2] + 0.5).astype(np.int64)  # C (int) cast: truncation toward zero
    Y = (_SCALE * xy[1::2] + 0.5).astype(np.int64)
    poly, pos = _segment_index(k)  # [V] polygon of each vertex (= of each edge) and its index inside
    nxt = np.where(pos == k[poly] - 1, np.arange(len(X)) - pos, np.arange(len(X)) + 1)  # closing edge
    xs, ys, xe, ye = X, Y, X[nxt], Y[nxt]
    dx, dy = np.abs(xe - xs), np.abs(ys - ye)
    horiz = dx >= dy
    flip = (horiz & (xs > xe)) | (~horiz & (ys > ye))
    xs, xe = np.where(flip, xe, xs), np.where(flip, xs, xe)
    ys, ye = np.where(flip, ye, ys), np.where(flip, ys, ye)
    span = np.where(horiz, dx, dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(horiz, (ye - ys) / np.maximum(dx, 1), (xe - xs) / np.maximum(dy, 1))
    s = np.where(span == 0, 0.0, s)  # a single point: the slope is never used

    pieces = []  # (edge, xd, yd) crossings in scaled coordinates
    # 1. edges walked along x: the steps (t, t + 1) whose lower x is 2 (mod 5)
    e_h = np.flatnonzero(horiz & (span > 0))
    t0 = np.mod(2 - xs[e_h], 5)
    n_h = np.where(t0 <= span[e_h] - 1, (span[e_h] - 1 - t0) // 5 + 1, 0)
    seg, i = _segment_index(n_h)
    e = e_h[seg]
    t = t0[seg] + 5 * i
    v0 = (ys[e] + s[e] * t + 0.5).astype(np.int64)
    v1 = (ys[e] + s[e] * (t + 1) + 0.5).astype(np.int64)
    pieces.append((e, t + xs[e], np.minimum(v0, v1)))
    # 2. edges walked along y: every step, x by the C formula; a crossing where it changes
    e_v = np.flatnonzero(~horiz)
    seg, t = _segment_index(span[e_v] + 1)
    e = e_v[seg]
    u = (xs[e] + s[e] * t + 0.5).astype(np.int64)
    step = np.flatnonzero((u[1:] != u[:-1]) & (seg[1:] == seg[:-1]))  # (t, t + 1) inside one edge
    e = e[step]
    pieces.append((e, np.minimum(u[step], u[step + 1]), t[step] + ys[e]))
    # 3. from the last point of an edge to the first point of the next edge of the same polygon
    a = np.flatnonzero(pos < k[poly] - 1)
    b = a + 1
    ua, va = _edge_point(horiz[a], xs[a], ys[a], s[a], np.where(flip[a], 0, span[a]))
    ub, vb = _edge_point(horiz[b], xs[b], ys[b], s[b], np.where(flip[b], span[b], 0))
    ch = ua != ub
    a, ua, ub, va, vb = a[ch], ua[ch], ub[ch], va[ch], vb[ch]
    pieces.append((a, np.where(ub < ua, ub, ub - 1), np.minimum(va, vb)))

    edge = np.concatenate([p[0] for p in pieces])
    p_of = poly[edge]
    xd = (np.concatenate([p[1] for p in pieces]).astype(np.float64) + 0.5) / _SCALE - 0.5
    yd = (np.concatenate([p[2] for p in pieces]).astype(np.float64) + 0.5) / _SCALE - 0.5
    hp, wp = h[p_of], w[p_of]
    ok = (np.floor(xd) == xd) & (xd >= 0) & (xd <= wp - 1)
    yd = np.ceil(np.clip(yd, 0, hp))
    toggle = xd[ok].astype(np.int64) * hp[ok] + yd[ok].astype(np.int64)  # column-major pixel index
    p_of = p_of[ok]

    # toggles → intervals per polygon: positions toggled an odd number of times flip the state
    hw = h * w  # [P]
    big = int(hw.max()) + 2
    uniq, cnt = np.unique(p_of * big + toggle, return_counts=True)
    p_u, t_u = uniq // big, uniq % big
    keep = (cnt % 2 == 1) & (t_u < hw[p_u])
    p_u, t_u = p_u[keep], t_u[keep]
    odd = np.flatnonzero(np.bincount(p_u, minlength=len(coords)) % 2 == 1)  # close at the end of the image
    p_u, t_u = np.r_[p_u, odd], np.r_[t_u, hw[odd]]
    order = np.lexsort((t_u, p_u))
    p_u, t_u = p_u[order], t_u[order]
    start, end, obj = t_u[0::2], t_u[1::2], owner[p_u[0::2]]

    # the polygons of one object: union of their intervals (touching ones merge)
    order = np.lexsort((start, obj))
    start, end, obj = start[order], end[order], obj[order]
    if start.size == 0:
        return empty, empty, empty
    off = obj * big
    reach = np.maximum.accumulate(end + off)
    new = np.r_[True, start[1:] + off[1:] > reach[:-1]]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, len(start) - 1]
    return obj[first], start[first], reach[last] - off[first]
