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

from dlprimer.metrics.coco._polygons import polygon_intervals

__all__ = ["Masks", "decode_rle_string", "decode_rle_strings", "masks_from_segmentations", "mask_iou_pairs"]


class Masks:
    """A list of masks as flat interval arrays: mask ``i`` owns ``start[off[i]:off[i+1]]`` (and ``end``),
    image sizes ``h[i]``, ``w[i]``; ``area[i]`` is its pixel count (int64)."""

    def __init__(self, parts: list[tuple[NDArray, NDArray]], h: NDArray, w: NDArray) -> None:
        counts = np.array([len(s) for s, _ in parts], dtype=np.int64)
        self.off = np.r_[0, np.cumsum(counts)]
        self.start = np.concatenate([s for s, _ in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
        self.end = np.concatenate([e for _, e in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
        self._finish(h, w)

    @classmethod
    def from_intervals(cls, item: NDArray, start: NDArray, end: NDArray, h: NDArray, w: NDArray) -> Masks:
        """Masks from intervals tagged with their mask index ``item`` (any order; kept in order per mask)."""
        order = np.argsort(item, kind="stable")
        self = cls.__new__(cls)
        self.off = np.r_[0, np.cumsum(np.bincount(item, minlength=len(h)))].astype(np.int64)
        self.start, self.end = start[order].astype(np.int64), end[order].astype(np.int64)
        self._finish(h, w)
        return self

    def _finish(self, h: NDArray, w: NDArray) -> None:
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


def _segment_starts(seg: NDArray) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start index and length of each run of equal values in the sorted ``seg``."""
    starts = np.r_[0, np.flatnonzero(seg[1:] != seg[:-1]) + 1] if seg.size else np.zeros(0, np.int64)
    return starts, np.diff(np.r_[starts, seg.size])


def _segment_cumsum(x: NDArray, seg: NDArray) -> NDArray:
    """Inclusive cumulative sum of ``x`` restarting where the sorted key ``seg`` changes."""
    cs = np.cumsum(x)
    starts, lens = _segment_starts(seg)
    return cs - np.repeat(cs[starts] - x[starts], lens)


def decode_rle_strings(strings: list[bytes]) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """Counts of many compressed COCO RLE strings at once: ``(counts [C], item [C], bad)``.

    ``item[c]`` is the string a count belongs to (non-decreasing); ``bad`` is the index of the first
    truncated string (its last character continues a number), or -1. Same decoding as
    :func:`decode_rle_string`, with no Python loop over strings.
    """
    lens = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    c = np.frombuffer(b"".join(strings), dtype=np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), -1
    last = (c & 0x20) == 0  # a number ends at a character without the continuation bit
    final = np.cumsum(lens)[lens > 0] - 1
    truncated = np.flatnonzero(~last[final])
    if truncated.size:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), int(np.flatnonzero(lens > 0)[truncated[0]])
    ends = np.flatnonzero(last)
    starts = np.r_[0, ends[:-1] + 1]
    k = np.arange(c.size) - np.repeat(starts, ends - starts + 1)  # digit position inside its number
    x = np.add.reduceat((c & 0x1F) << (5 * k), starts)
    neg = (c[ends] & 0x10) != 0
    x = x - np.where(neg, np.left_shift(1, 5 * (ends - starts + 1)), 0)  # sign extension
    item = np.repeat(np.arange(len(strings)), lens)[ends]  # [C]
    first, size = _segment_starts(item)
    m = np.arange(len(x)) - np.repeat(first, size)  # position inside its string
    # counts[m] = x[m] + counts[m - 2] for m >= 3: running sums along the odd and the even (from 2) chains
    sel = np.flatnonzero(m >= 1)
    key = item[sel] * 2 + (m[sel] & 1)
    o = np.argsort(key, kind="stable")
    out = x.copy()
    out[sel[o]] = _segment_cumsum(x[sel][o], key[o])
    return out, item, -1


def _intervals_from_counts(counts: NDArray[np.int64]) -> tuple[NDArray, NDArray]:
    ends = np.cumsum(counts)
    on = np.arange(1, len(counts), 2)  # runs 1, 3, 5 ... are ones
    s, e = ends[on - 1], ends[on]
    keep = e > s
    return s[keep], e[keep]


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
        hw = _polygon_size(h, w, where)
        coords = _polygons(segm, where)
        _, start, end = polygon_intervals(
            coords, np.zeros(len(coords), np.int64), *(np.full(len(coords), v) for v in hw)
        )
        return (start, end), *hw
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
    """Masks of a list of COCO segmentations (image sizes per item; ``where`` names each record).

    Compressed RLE strings (what detectors write) are decoded all at once (:func:`decode_rle_strings`);
    polygons and uncompressed RLE one by one.
    """
    n = len(segms)
    hs, ws = np.zeros(n, np.int64), np.zeros(n, np.int64)
    compressed, strings = [], []
    for i, segm in enumerate(segms):
        if type(segm) is dict and isinstance(segm.get("counts"), (str, bytes)) and "size" in segm:
            try:
                hs[i], ws[i] = _size(segm["size"])
            except ValueError as exc:
                raise ValueError(f"{where[i]}: {exc}") from None
            counts = segm["counts"]
            compressed.append(i)
            strings.append(counts.encode() if isinstance(counts, str) else bytes(counts))
    counts, item, bad = decode_rle_strings(strings)
    if bad >= 0:
        i = compressed[bad]
        raise ValueError(f"{where[i]}: compressed RLE string is truncated: {segms[i]['counts'][:40]!r}")
    comp = np.asarray(compressed, dtype=np.int64)
    ends = _segment_cumsum(counts, item) if counts.size else counts  # pixel index after each run
    total = np.zeros(len(comp), np.int64)
    if counts.size:
        last = np.r_[np.flatnonzero(item[1:] != item[:-1]), len(item) - 1]  # last count of each string
        total[item[last]] = ends[last]
    hw = hs[comp] * ws[comp]
    negative = np.bincount(item[counts < 0], minlength=len(comp)) > 0
    wrong = np.flatnonzero(negative | (total > hw))
    if len(wrong):
        i = int(comp[wrong[0]])
        raise ValueError(f"{where[i]}: RLE counts must be non-negative and sum to at most h*w={int(hw[wrong[0]])}")
    first, size = _segment_starts(item)
    m = np.arange(len(counts)) - np.repeat(first, size)
    odd = np.flatnonzero(m % 2 == 1)  # runs 1, 3, 5 ... are ones: [end of the previous run, end of this one)
    s_b, e_b, it_b = ends[odd - 1], ends[odd], comp[item[odd]] if len(comp) else item[odd]
    keep = e_b > s_b
    items, starts, stops = [it_b[keep]], [s_b[keep]], [e_b[keep]]
    done = np.zeros(n, bool)
    done[comp] = True
    coords, owner = [], []  # polygons of every object, rasterized together
    for i, segm in enumerate(segms):
        if type(segm) is list and not done[i]:
            hs[i], ws[i] = _polygon_size(heights[i], widths[i], where[i])
            for xy in _polygons(segm, where[i]):
                coords.append(xy)
                owner.append(i)
            done[i] = True
    if coords:
        o = np.asarray(owner, dtype=np.int64)
        it_p, s_p, e_p = polygon_intervals(coords, o, hs[o], ws[o])
        items.append(it_p)
        starts.append(s_p)
        stops.append(e_p)
    for i in np.flatnonzero(~done):
        (s, e), hs[i], ws[i] = _one(segms[i], heights[i], widths[i], where[i])
        items.append(np.full(len(s), i, np.int64))
        starts.append(s)
        stops.append(e)
    return Masks.from_intervals(np.concatenate(items), np.concatenate(starts), np.concatenate(stops), hs, ws)


def _polygon_size(h: int | None, w: int | None, where: str) -> tuple[int, int]:
    if h is None or w is None:
        raise ValueError(f"{where}: polygon segmentations need the image's 'height' and 'width'")
    return h, w


def _polygons(segm: list, where: str) -> list[NDArray[np.float64]]:
    """The polygons of one object as float64 arrays (a list of 4-number lists is read as boxes, as pycocotools)."""
    if not segm:
        return []
    if not all(type(p) is list and set(map(type, p)) <= {int, float} for p in segm):
        bad = next(p for p in segm if type(p) is not list or not set(map(type, p)) <= {int, float})
        raise ValueError(f"{where}: a polygon must be a list of numbers [x0, y0, x1, y1, ...], got {str(bad)[:60]}")
    boxes = len(segm[0]) == 4  # pycocotools reads such a list as boxes
    out = []
    for p in segm:
        xy = np.asarray(p, dtype=np.float64)
        if not np.all(np.isfinite(xy)):
            raise ValueError(f"{where}: segmentation coordinates must be finite")
        if boxes:
            x0, y0, bw, bh = xy[:4]
            xy = np.array([x0, y0, x0, y0 + bh, x0 + bw, y0 + bh, x0 + bw, y0])
        out.append(xy)
    return out


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
