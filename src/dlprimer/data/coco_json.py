"""The COCO JSON format, read and validated into flat NumPy arrays (NumPy only; the one COCO loader).

Public API for every package that reads COCO files (``dlprimer.metrics`` and ``dlprimer.data``):

* :func:`read_json` reads a JSON file safely: only regular files (``/dev/zero`` is refused), UTF-8 text,
  nesting depth bounded, every error one line naming the file;
* :func:`load_coco_json` reads and validates a COCO ground-truth dict (or its path) and returns a
  :class:`CocoDataset` (the dict untouched, its source name, and the :class:`GroundTruth` arrays);
* :func:`load_ground_truth` / :func:`load_detections` / :func:`detections_from_arrays` give the arrays the
  evaluator works on.

Input rules (strict and named; each error names the source, the record and the field): ``bbox`` is a list of
4 finite numbers with non-negative width and height (a string such as ``"1234"`` is refused, as pycocotools
effectively does); ids are integers or strings (integral floats as integers, as pycocotools), never lists,
dicts or booleans; ``area`` and ``score`` are finite numbers.

The arrays keep the input order of records (pycocotools' tie-breaking depends on it). Bad input raises a
``ValueError``/``TypeError`` naming the source (file path or ``<gt dict>`` / ``<detections list>``), the
record (``annotations[12]``) and the field. The caller's objects are never mutated.

Conventions copied from pycocotools (``COCO.loadRes`` and ``COCOeval._prepare``):

* ground truth keeps its ``area`` field (it is *not* recomputed as ``w*h``; for segmentation data the mask
  area differs from the box area); ``iscrowd`` defaults to 0 when absent (pycocotools would crash);
* detections get ``area = w*h``, ``iscrowd = 0`` and ids ``1..N`` in list order, whatever they carried;
* images and categories are evaluated in sorted id order;
* ids are integers or strings; integral floats (``1.0``, as some JSON writers emit) are read as integers,
  as pycocotools' dict lookups treat them (``1.0 == 1``); fractional, boolean, mixed string/number ids and
  ids outside the int64 range are errors.
"""

from __future__ import annotations

import json
import numbers
import os
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "RESULT_FIELDS",
    "CocoDataset",
    "Detections",
    "GroundTruth",
    "detections_from_arrays",
    "load_coco_json",
    "load_detections",
    "load_ground_truth",
    "merge_categories",
    "read_json",
    "check_records",
]


@dataclass(frozen=True)
class GroundTruth:
    """Ground truth as arrays. ``G`` annotations, ``I`` images, ``K`` categories.

    ``img``/``cat`` are indices into the sorted ``image_ids``/``category_ids``; ``bbox`` is ``[G, 4]``
    float64 ``xywh``; ``area`` ``[G]`` float64 from the annotation; ``iscrowd`` ``[G]`` bool; ``ann_ids``
    ``[G]`` the annotation ids (object array if not integers).
    """

    image_ids: NDArray
    category_ids: NDArray
    category_names: list[str]
    img: NDArray[np.int64]
    cat: NDArray[np.int64]
    bbox: NDArray[np.float64]
    area: NDArray[np.float64]
    iscrowd: NDArray[np.bool_]
    ann_ids: NDArray


@dataclass(frozen=True)
class Detections:
    """Detections as arrays: ``img``/``cat`` index into the ground truth's sorted ids; ``bbox`` ``[N, 4]``
    xywh float64; ``score`` ``[N]`` float64; ``area`` ``[N]`` = ``w*h`` (as ``COCO.loadRes``)."""

    img: NDArray[np.int64]
    cat: NDArray[np.int64]
    bbox: NDArray[np.float64]
    score: NDArray[np.float64]
    area: NDArray[np.float64]


def read_json(path: str | os.PathLike[str], what: str = "JSON") -> Any:
    """Parse the JSON file ``path``; every failure is a one-line ``ValueError`` naming ``what`` and the file.

    Refused: a path that is not a regular file (a folder, ``/dev/zero``, a pipe), bytes that are not UTF-8
    text (the byte offset is named), invalid JSON, nesting deeper than Python's parser recursion allows
    (about a thousand levels; COCO files nest five deep).
    A missing file raises ``FileNotFoundError`` naming it.
    """
    name = f"{what} file {os.fspath(path)!r}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name} does not exist")
    if not os.path.isfile(path):
        raise ValueError(f"{name} is not a regular file")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} is not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{name} nests JSON too deeply (arrays/objects inside each other)") from None


def source_of(obj: Any, what: str, default: str) -> tuple[Any, str]:
    """``(data, name)``: a path is read with :func:`read_json`; anything else is passed through."""
    if isinstance(obj, (str, os.PathLike)):
        return read_json(obj, what), f"{what} file {os.fspath(obj)!r}"
    return obj, default


RESULT_FIELDS = {
    "bbox": ("image_id", "category_id", "bbox", "score"),
    "segm": ("image_id", "category_id", "segmentation", "score"),
    "keypoints": ("image_id", "category_id", "keypoints", "score"),
}


def check_records(records: list, src: str, section: str, fields: tuple[str, ...]) -> None:
    """Raise naming the first record that is not a JSON object or lacks one of ``fields``."""
    if all(type(r) is dict for r in records) and all(all(f in r for f in fields) for r in records):
        return
    _find_bad(records, src, section, fields)


def _find_bad(records: list, src: str, section: str, fields: tuple[str, ...]) -> None:
    """Slow path: locate the first record lacking a field (or not a dict) and raise."""
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise TypeError(f"{src}: {section}[{i}] must be a JSON object, got {type(rec).__name__}")
        for field in fields:
            if field not in rec:
                raise ValueError(f"{src}: {section}[{i}] is missing the required key {field!r}")


def column_of(records: list, field: str, src: str, section: str, fields: tuple[str, ...]) -> list:
    try:
        return list(map(itemgetter(field), records))
    except (KeyError, TypeError):
        _find_bad(records, src, section, fields)
        raise  # pragma: no cover - _find_bad always raises here


def _ids(values: list, src: str, section: str, field: str) -> NDArray:
    types = set(map(type, values))
    if not values:
        return np.zeros(0, dtype=np.int64)
    if types == {int}:  # the common case, read without a second type inference
        try:
            return np.fromiter(values, dtype=np.int64, count=len(values))
        except OverflowError:
            i = next(i for i, v in enumerate(values) if not -(2**63) <= v < 2**63)
            raise ValueError(
                f"{src}: {section}[{i}].{field}={values[i]!r} is outside the 64-bit integer range"
            ) from None
    real = all(issubclass(t, numbers.Real) and not issubclass(t, (bool, np.bool_)) for t in types)
    if real and any(not issubclass(t, numbers.Integral) for t in types):
        # JSON writers often emit ids as 1.0; pycocotools accepts them (1.0 == 1 as a dict key), so do we
        flt = np.fromiter(values, dtype=np.float64, count=len(values))
        bad = np.flatnonzero(~np.isfinite(flt) | (flt != np.round(flt)) | (np.abs(flt) >= 2.0**53))
        if bad.size:
            i = int(bad[0])
            raise TypeError(f"{src}: {section}[{i}].{field} must be an integer (or string) id, got {values[i]!r}")
        return flt.astype(np.int64)
    if not types <= {int, str, float} and not real:  # lists, dicts, booleans, None: named, never guessed
        i = next(i for i, v in enumerate(values) if isinstance(v, bool) or not isinstance(v, (numbers.Real, str)))
        raise TypeError(f"{src}: {section}[{i}].{field} must be an integer (or string) id, got {values[i]!r}")
    if str in types and len(types) > 1:
        raise TypeError(
            f"{src}: {section} {field} values mix strings and other types ({sorted(t.__name__ for t in types)})"
        )
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind not in "iuU":
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise TypeError(f"{src}: {section}[{i}].{field} must be an integer (or string) id, got {v!r}")
        raise TypeError(f"{src}: {section} {field} values mix integers and strings")
    return arr


def _check_unique(ids: NDArray, src: str, section: str) -> None:
    order = np.argsort(ids, kind="stable")
    dup = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if dup.size:
        first, second = np.sort(order[dup[0] : dup[0] + 2])
        raise ValueError(f"{src}: duplicate id {ids[second].item()!r} in {section}[{first}] and {section}[{second}]")


def _lookup(ids: NDArray, sorted_ids: NDArray, src: str, section: str, field: str, known: str) -> NDArray:
    """Map ids to indices into ``sorted_ids``; unknown ids raise naming the record."""
    if sorted_ids.size == 0:
        if ids.size:
            raise ValueError(f"{src}: {section}[0].{field}={ids[0].item()!r} is not in the ground truth {known}")
        return np.zeros(0, dtype=np.int64)
    if ids.dtype.kind != sorted_ids.dtype.kind and ids.size:
        raise ValueError(f"{src}: {section}[0].{field}={ids[0].item()!r} is not in the ground truth {known}")
    pos = np.searchsorted(sorted_ids, ids).clip(0, sorted_ids.size - 1)
    bad = np.flatnonzero(sorted_ids[pos] != ids)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{src}: {section}[{i}].{field}={ids[i].item()!r} is not in the ground truth {known}")
    return pos.astype(np.int64)


def parse_floats(values: list, src: str, section: str, field: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    arr = None
    if not shape:
        if not set(map(type, values)) <= {float, int}:
            for i, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, numbers.Real):
                    raise ValueError(f"{src}: {section}[{i}].{field} must be a number, got {v!r}")
        arr = np.fromiter(values, dtype=np.float64, count=len(values))
    else:
        plain = _plain_number_lists(values)
        try:
            arr = np.asarray(values, dtype=np.float64) if plain else None
        except (ValueError, TypeError):
            arr = None
        if arr is None or arr.shape != (len(values), *shape):
            for i, v in enumerate(values):  # name the first record that is not a list of shape[0] numbers
                if not (
                    isinstance(v, (list, tuple))
                    and len(v) == shape[0]
                    and all(isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) for x in v)
                ):
                    raise ValueError(f"{src}: {section}[{i}].{field} must be a list of {shape[0]} numbers, got {v!r}")
            arr = np.asarray(values, dtype=np.float64)  # numbers of NumPy types: valid, read here
    bad = ~np.isfinite(arr).reshape(len(values), int(np.prod(shape))).all(axis=1)  # [N]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{src}: {section}[{i}].{field} must be finite, got {values[i]!r}")
    return arr


def _plain_number_lists(values: list) -> bool:
    """Every value a list/tuple of plain ints/floats (no strings, booleans or nested lists)."""
    return set(map(type, values)) <= {list, tuple} and set(map(type, chain.from_iterable(values))) <= {int, float}


def _fast_boxes(values: list) -> NDArray[np.float64] | None:
    """``[N, 4]`` float64 from a list of 4-lists, or None when anything is off (then validate slowly)."""
    n = len(values)
    if not _plain_number_lists(values):
        return None  # strings ("1234" would read as [1, 2, 3, 4]), dicts, booleans...: the slow path names them
    try:
        lens = np.fromiter(map(len, values), dtype=np.int64, count=n)
        if n and (lens.min() != 4 or lens.max() != 4):
            return None
        flat = np.fromiter(chain.from_iterable(values), dtype=np.float64, count=4 * n)
    except (TypeError, ValueError):
        return None
    return flat.reshape(n, 4)


def parse_boxes(values: list, src: str, section: str) -> NDArray[np.float64]:
    box = _fast_boxes(values)
    if box is None or not np.isfinite(box).all():
        box = parse_floats(values, src, section, "bbox", (4,)).reshape(-1, 4)  # [N, 4] xywh
    neg = np.flatnonzero((box[:, 2] < 0) | (box[:, 3] < 0))
    if neg.size:
        i = int(neg[0])
        raise ValueError(
            f"{src}: {section}[{i}].bbox has a negative width or height, got {values[i]!r} (format [x, y, w, h])"
        )
    return box


def _list_field(data: dict, key: str, src: str) -> list:
    if key not in data:
        raise ValueError(f"{src} is missing the required key {key!r} (a COCO dict has images/annotations/categories)")
    value = data[key]
    if not isinstance(value, list):
        raise TypeError(f"{src}: {key!r} must be a list, got {type(value).__name__}")
    return value


def load_ground_truth(gt: dict | str | os.PathLike[str], source: str | None = None) -> GroundTruth:
    """Validate a COCO ground-truth dict (or JSON path) and return :class:`GroundTruth` arrays.

    ``source`` names a dict's origin in error messages (default ``<gt dict>`` or the path).
    """
    data, src = source_of(gt, "ground-truth", "<gt dict>")
    src = src if source is None else source
    if not isinstance(data, dict):
        raise TypeError(f"{src} must be a COCO dict (JSON object), got {type(data).__name__}")
    images = _list_field(data, "images", src)
    cats = _list_field(data, "categories", src)
    anns = _list_field(data, "annotations", src)

    image_ids = _ids(column_of(images, "id", src, "images", ("id",)), src, "images", "id")
    _check_unique(image_ids, src, "images")
    cat_ids = _ids(column_of(cats, "id", src, "categories", ("id",)), src, "categories", "id")
    _check_unique(cat_ids, src, "categories")
    cat_order = np.argsort(cat_ids, kind="stable")
    names = [str(cats[i].get("name", cats[i]["id"])) for i in cat_order]
    image_ids = np.sort(image_ids)
    cat_ids = cat_ids[cat_order]

    fields = ("id", "image_id", "category_id", "bbox", "area")
    if anns:
        ann_ids = _ids(column_of(anns, "id", src, "annotations", fields), src, "annotations", "id")
        _check_unique(ann_ids, src, "annotations")
        img = _lookup(
            _ids(column_of(anns, "image_id", src, "annotations", fields), src, "annotations", "image_id"),
            image_ids,
            src,
            "annotations",
            "image_id",
            "images",
        )
        cat = _lookup(
            _ids(column_of(anns, "category_id", src, "annotations", fields), src, "annotations", "category_id"),
            cat_ids,
            src,
            "annotations",
            "category_id",
            "categories",
        )
        bbox = parse_boxes(column_of(anns, "bbox", src, "annotations", fields), src, "annotations")
        area = parse_floats(column_of(anns, "area", src, "annotations", fields), src, "annotations", "area", ())
        crowd = [a.get("iscrowd", 0) for a in anns]
        if not set(map(type, crowd)) <= {int, bool}:
            for i, v in enumerate(crowd):
                if not isinstance(v, numbers.Real) or not np.isfinite(v):
                    raise ValueError(f"{src}: annotations[{i}].iscrowd must be 0 or 1, got {v!r}")
        iscrowd = np.array(crowd, dtype=np.float64) != 0  # [G]  any non-zero number is crowd (as pycocotools)
    else:
        ann_ids = np.zeros(0, dtype=np.int64)
        img = cat = np.zeros(0, dtype=np.int64)
        bbox, area = np.zeros((0, 4)), np.zeros(0)
        iscrowd = np.zeros(0, dtype=bool)
    return GroundTruth(image_ids, cat_ids, names, img, cat, bbox, area, iscrowd, ann_ids)


def result_keys(
    data: list, gt: GroundTruth, src: str, fields: tuple[str, ...]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The columns every results list has (bbox, segm and keypoints alike), validated against ``gt``:
    ``(image index [N], category index [N], score [N])``; ``fields`` are the record's required fields."""
    img = _lookup(
        _ids(column_of(data, "image_id", src, "results", fields), src, "results", "image_id"),
        gt.image_ids, src, "results", "image_id", "images",
    )  # fmt: skip
    cat = _lookup(
        _ids(column_of(data, "category_id", src, "results", fields), src, "results", "category_id"),
        gt.category_ids, src, "results", "category_id", "categories",
    )  # fmt: skip
    score = parse_floats(column_of(data, "score", src, "results", fields), src, "results", "score", ())
    return img, cat, score


def load_detections(dt: list | str | os.PathLike[str], gt: GroundTruth, source: str | None = None) -> Detections:
    """Validate a COCO bbox results list (or JSON path) against ``gt`` and return :class:`Detections`.

    ``source`` names a list's origin in error messages (default ``<detections list>`` or the path).
    """
    data, src = source_of(dt, "detections", "<detections list>")
    src = src if source is None else source
    if isinstance(data, dict) and "annotations" in data:
        raise TypeError(f"{src} must be a results list, got a COCO dict; pass its 'annotations' list instead")
    if not isinstance(data, list):
        raise TypeError(f"{src} must be a list of result records, got {type(data).__name__}")
    n = len(data)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Detections(empty, empty, np.zeros((0, 4)), np.zeros(0), np.zeros(0))
    fields = ("image_id", "category_id", "bbox", "score")
    img, cat, score = result_keys(data, gt, src, fields)
    bbox = parse_boxes(column_of(data, "bbox", src, "results", fields), src, "results")
    area = bbox[:, 2] * bbox[:, 3]  # [N]  as COCO.loadRes
    return Detections(img, cat, bbox, score, area)


def detections_from_arrays(
    image_id: NDArray, category_id: NDArray, bbox: NDArray, score: NDArray, gt: GroundTruth
) -> Detections:
    """Detections straight from arrays (no list of dicts): ids ``[N]``, ``bbox[N, 4]`` xywh, ``score[N]``.

    The fast path for evaluation inside a training loop; validated like :func:`load_detections`.
    """
    src = "<detection arrays>"
    img_ids, cat_ids = np.asarray(image_id).reshape(-1), np.asarray(category_id).reshape(-1)
    box = np.asarray(bbox, dtype=np.float64)
    sc = np.asarray(score, dtype=np.float64).reshape(-1)
    n = len(img_ids)
    if box.shape != (n, 4) or cat_ids.shape != (n,) or sc.shape != (n,):
        raise ValueError(
            f"{src}: expected image_id [N], category_id [N], bbox [N, 4], score [N]; got shapes "
            f"{img_ids.shape}, {cat_ids.shape}, {box.shape}, {sc.shape}"
        )
    for name, ids in (("image_id", img_ids), ("category_id", cat_ids)):
        if n and ids.dtype.kind == "f" and np.all(np.isfinite(ids) & (ids == np.round(ids))):
            ids = ids.astype(np.int64)  # e.g. class labels from a float tensor
            img_ids, cat_ids = (ids, cat_ids) if name == "image_id" else (img_ids, ids)
        if n and ids.dtype.kind not in "iuU":
            raise TypeError(f"{src}: {name} must hold integer (or string) ids, got dtype {ids.dtype}")
    img = _lookup(img_ids, gt.image_ids, src, "results", "image_id", "images")
    cat = _lookup(cat_ids, gt.category_ids, src, "results", "category_id", "categories")
    for name, arr in (("bbox", box), ("score", sc)):
        bad = ~np.isfinite(arr.reshape(n, -1)).all(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{src}: results[{i}].{name} must be finite, got {arr[i].tolist()!r}")
    neg = np.flatnonzero((box[:, 2] < 0) | (box[:, 3] < 0))
    if neg.size:
        raise ValueError(
            f"{src}: results[{int(neg[0])}].bbox has a negative width or height, got {box[neg[0]].tolist()}"
        )
    return Detections(img, cat, box.copy(), sc.copy(), box[:, 2] * box[:, 3])


@dataclass(frozen=True)
class CocoDataset:
    """A validated COCO ground-truth dict: ``data`` (the caller's dict, untouched), ``source`` (its name
    in error messages: ``ground-truth file '...'`` or ``<gt dict>``) and ``gt`` (:class:`GroundTruth`)."""

    data: dict
    source: str
    gt: GroundTruth


def load_coco_json(source: dict | str | os.PathLike[str], what: str = "ground-truth") -> CocoDataset:
    """Read (if a path, with :func:`read_json`) and validate a COCO dict; raise one named error if bad.

    Args:
        source: a COCO dict (``images``, ``annotations``, ``categories``) or a path to its JSON file.
        what: the word naming the file in messages (``"ground-truth"``, ``"dataset"``).

    Returns:
        :class:`CocoDataset`. Validation covers images/categories/annotations ids (unique, integers or
        strings), references (``image_id``/``category_id`` exist), ``bbox`` (4 finite numbers, w, h >= 0),
        ``area`` (finite) and ``iscrowd`` (a number).
    """
    data, src = source_of(source, what, "<gt dict>")
    return CocoDataset(data, src, load_ground_truth(data, source=src))


def merge_categories(gt: dict, dt: list, category_ids: list | None = None) -> tuple[dict, list]:
    """Ground truth and results as one category, as pycocotools' ``useCats = 0`` sees them (new objects).

    Records of the categories ``category_ids`` (default: every category of ``gt``, in sorted order) are kept,
    ordered by the position of their category in that list, then input order (the order ``useCats = 0``
    walks them in, which decides ties), and relabelled to category 0. Records of unknown categories keep
    their id, so validation still names them.
    """
    cats = gt.get("categories") if isinstance(gt, dict) else None
    if not isinstance(cats, list) or not isinstance(dt, list):
        return gt, dt  # malformed: left for the loaders to name
    known = sorted(c["id"] for c in cats if isinstance(c, dict) and "id" in c)
    order = list(known if category_ids is None else category_ids)
    rank = {c: i for i, c in enumerate(order)}

    def merged(records: list) -> list:
        chosen = [r for r in records if not isinstance(r, dict) or r.get("category_id") in rank or
                  r.get("category_id") not in known]  # fmt: skip
        chosen.sort(key=lambda r: rank.get(r.get("category_id"), -1) if isinstance(r, dict) else -1)
        return [dict(r, category_id=0) if isinstance(r, dict) and r.get("category_id") in rank else r for r in chosen]

    anns = gt.get("annotations")
    out = dict(gt, categories=[{"id": 0, "name": "all"}])
    if isinstance(anns, list):
        out["annotations"] = merged(anns)
    return out, merged(dt)
