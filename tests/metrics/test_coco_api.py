"""The drop-in API: one pycocotools-style script run twice, with pycocotools' classes and with ours under the
same names; ``.stats``, ``.eval`` arrays (1e-12; in fact bitwise) and the printed summary must agree."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import sys

import numpy as np
import pytest

from dlprimer.metrics.coco import COCO, COCOeval
from dlprimer.metrics.coco.synthetic import make_coco, make_coco_keypoints
from oracles import make_segm_coco

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside pycocotools' mask module


def script(COCO, COCOeval, gt_file, dt_file, iou_type, set_params):  # noqa: N803 - the script's own names
    """What users write: load, loadRes, set params, evaluate, accumulate, summarize."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt_file)
        coco_dt = coco_gt.loadRes(dt_file)
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        set_params(ev.params, coco_gt)
        ev.evaluate()
        ev.accumulate()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ev.summarize()
    return ev, out.getvalue().splitlines()


def _default(p, coco):
    pass


def _subsets(p, coco):
    p.imgIds = sorted(coco.getImgIds())[::2]
    p.catIds = sorted(coco.getCatIds())[1:]


def _max_dets(p, coco):
    p.maxDets = [2, 10, 40]  # no 100: pycocotools' first row prints -1


def _iou_thrs(p, coco):
    p.iouThrs = np.array([0.3, 0.5, 0.6])  # no 0.75: the AP75 row prints -1


def _no_cats(p, coco):
    p.useCats = 0


def _mix(p, coco):
    p.imgIds = sorted(coco.getImgIds())[1:]
    p.maxDets = [1, 5, 100]
    p.iouThrs = np.linspace(0.5, 0.95, 10)[::3]
    p.useCats = 0


def _max_dets_kp(p, coco):
    p.maxDets = [5]  # no 20: every keypoint row prints -1 in pycocotools


PARAMS = {"default": _default, "subsets": _subsets, "max_dets": _max_dets, "iou_thrs": _iou_thrs,
          "no_cats": _no_cats, "mix": _mix}  # fmt: skip
KP_PARAMS = {"default": _default, "subsets": _subsets, "max_dets_kp": _max_dets_kp}


def _data(kind, seed):
    if kind == "bbox":
        return make_coco(seed, n_images=14, n_categories=4, dt_per_image=25)
    if kind == "segm":
        return make_segm_coco(seed)
    return make_coco_keypoints(seed, n_images=12, n_categories=2)


def _compare(tmp_path, kind, seed, params, table=PARAMS):
    import pycocotools.coco
    import pycocotools.cocoeval

    gt, dt = _data(kind, seed)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    g, d = str(tmp_path / "gt.json"), str(tmp_path / "dt.json")
    theirs, their_lines = script(pycocotools.coco.COCO, pycocotools.cocoeval.COCOeval, g, d, kind, table[params])
    ours, our_lines = script(COCO, COCOeval, g, d, kind, table[params])
    assert our_lines == their_lines
    np.testing.assert_allclose(ours.stats, theirs.stats, rtol=0, atol=1e-12)
    for name in ("precision", "recall", "scores"):
        a, b = ours.eval[name], theirs.eval[name]
        assert a.shape == b.shape, f"{name}: ours {a.shape} vs pycocotools {b.shape}"
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12, err_msg=name)
    assert ours.eval["counts"] == theirs.eval["counts"]
    assert list(ours.params.catIds) == list(theirs.params.catIds)  # [-1] after accumulate with useCats 0
    assert list(ours.params.imgIds) == list(theirs.params.imgIds)
    return ours, theirs


@pytest.mark.parametrize("params", list(PARAMS))
@pytest.mark.parametrize(
    ("kind", "seed"), [("bbox", 0), ("bbox", 1), ("bbox", 2), ("segm", 0), ("segm", 3), ("segm", 4)]
)
def test_script_runs_the_same_with_our_classes(tmp_path, kind, seed, params):
    _compare(tmp_path, kind, seed, params)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("params", list(KP_PARAMS))
def test_keypoint_script_runs_the_same(tmp_path, seed, params):
    _compare(tmp_path, "keypoints", seed, params, KP_PARAMS)


@pytest.mark.parametrize("seed", range(2))
def test_keypoints_without_categories_match_as_one_category(seed, pycoco, same):
    """A documented difference: pycocotools' ``computeOks`` ignores ``useCats = 0`` (it looks up category -1,
    finds nothing, so every detection is a false positive). We evaluate it as useCats = 0 means for boxes
    and masks; the oracle is pycocotools on the same data relabelled to one category (records ordered by
    category first, the order useCats = 0 walks them in)."""
    gt, dt = make_coco_keypoints(seed, n_images=12, n_categories=3)
    one = copy.deepcopy(gt)
    one["annotations"] = [dict(a, category_id=1) for a in sorted(gt["annotations"], key=lambda a: a["category_id"])]
    one["categories"] = [{"id": 1, "name": "all"}]
    dt_one = [dict(d, category_id=1) for d in sorted(dt, key=lambda d: d["category_id"])]
    theirs = pycoco(one, dt_one, "keypoints")
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(gt)
        ev = COCOeval(coco, coco.loadRes(dt), "keypoints")
        ev.params.useCats = 0
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    for name in ("precision", "recall", "scores"):
        same(ev.eval[name], theirs.eval[name], name)
    assert ev.stats[0] > 0.05  # pycocotools itself would print 0.000 here


def test_segm_with_box_results(tmp_path):
    import pycocotools.coco
    import pycocotools.cocoeval

    gt, dt = make_segm_coco(2, box_results=True)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dt))
    g, d = str(tmp_path / "gt.json"), str(tmp_path / "dt.json")
    theirs, lines = script(pycocotools.coco.COCO, pycocotools.cocoeval.COCOeval, g, d, "segm", _default)
    ours, our_lines = script(COCO, COCOeval, g, d, "segm", _default)
    assert our_lines == lines
    np.testing.assert_array_equal(ours.eval["precision"], theirs.eval["precision"])


def test_eval_imgs_equal_pycocotools(tmp_path):
    ours, theirs = _compare(tmp_path, "bbox", 5, "subsets")
    mine = ours.evalImgs
    assert len(mine) == len(theirs.evalImgs)
    for a, b in zip(mine, theirs.evalImgs, strict=True):
        assert (a is None) == (b is None)
        if a is None:
            continue
        for key in ("image_id", "category_id", "maxDet"):
            assert a[key] == b[key], key
        for key in ("dtIds", "gtIds", "dtScores"):
            assert list(a[key]) == list(b[key]), key
        assert a["aRng"] == list(b["aRng"])
        for key in ("dtMatches", "gtMatches", "gtIgnore", "dtIgnore"):
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def test_queries_equal_pycocotools():
    import pycocotools.coco

    gt, dt = make_coco(3, n_images=10, n_categories=4)
    for c in gt["categories"]:
        c["supercategory"] = "even" if c["id"] % 2 == 0 else "odd"
    with contextlib.redirect_stdout(io.StringIO()):
        theirs, ours = pycocotools.coco.COCO(), COCO()
        theirs.dataset, ours.dataset = copy.deepcopy(gt), copy.deepcopy(gt)
        theirs.createIndex()
        ours.createIndex()
        res_t, res_o = theirs.loadRes(copy.deepcopy(dt)), ours.loadRes(dt)
    img, cat = sorted(theirs.getImgIds())[2], sorted(theirs.getCatIds())[0]
    for args in [{}, {"imgIds": [img]}, {"catIds": [cat]}, {"imgIds": img, "catIds": cat},
                 {"areaRng": [0, 2000]}, {"iscrowd": 0}, {"iscrowd": 1}]:  # fmt: skip
        assert ours.getAnnIds(**args) == theirs.getAnnIds(**args), args
    for args in [{}, {"catNms": ["class_" + str(cat)]}, {"supNms": ["even"]}, {"catIds": [cat]}]:
        assert ours.getCatIds(**args) == theirs.getCatIds(**args), args
    for args in [{}, {"imgIds": [img]}, {"catIds": [cat]}, {"imgIds": [img], "catIds": [cat]}]:
        assert sorted(ours.getImgIds(**args)) == sorted(theirs.getImgIds(**args)), args
    ids = theirs.getAnnIds()[:5]
    assert ours.loadAnns(ids) == theirs.loadAnns(ids)
    assert ours.loadImgs(img) == theirs.loadImgs(img) and ours.loadCats([cat]) == theirs.loadCats([cat])
    assert res_o.dataset["annotations"] == res_t.dataset["annotations"]  # area, id, iscrowd, box polygon


def test_load_res_numpy_and_keypoint_boxes():
    import pycocotools.coco

    gt, dt = make_coco(4, n_images=6, n_categories=3)
    arr = np.array([[d["image_id"], *d["bbox"], d["score"], d["category_id"]] for d in dt])
    gk, dk = make_coco_keypoints(1, n_images=6)
    with contextlib.redirect_stdout(io.StringIO()):
        for data, res in ((gt, arr), (gk, dk)):
            theirs, ours = pycocotools.coco.COCO(), COCO()
            theirs.dataset, ours.dataset = copy.deepcopy(data), copy.deepcopy(data)
            theirs.createIndex()
            ours.createIndex()
            a = ours.loadRes(res).dataset["annotations"]
            b = theirs.loadRes(copy.deepcopy(res)).dataset["annotations"]
            assert json.loads(json.dumps(a, default=float)) == json.loads(json.dumps(b, default=float))


def test_caller_data_is_not_mutated_and_pycocotools_is_not_imported():
    gt, dt = make_coco(6, n_images=6, n_categories=3)
    gt0, dt0 = copy.deepcopy(gt), copy.deepcopy(dt)
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if k.startswith("pycocotools")}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO(gt)
            ev = COCOeval(coco, coco.loadRes(dt), "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        assert not any(k.startswith("pycocotools") for k in sys.modules)
    finally:
        sys.modules.update(saved)
    assert gt == gt0 and dt == dt0


def test_gt_id_zero_switch_reproduces_pycocotools(pycoco):
    gt, dt = make_coco(8, n_images=8, n_categories=3)
    gt["annotations"][0]["id"] = 0
    theirs = pycoco(gt, dt)
    for compat in (False, True):
        with (
            contextlib.redirect_stdout(io.StringIO()),
            pytest.warns(UserWarning) if not compat else contextlib.nullcontext(),
        ):
            coco = COCO(copy.deepcopy(gt))
            ev = COCOeval(coco, coco.loadRes(dt), "bbox")
            ev.compat_gt_id_zero = compat
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        if compat:
            np.testing.assert_array_equal(ev.eval["precision"], theirs.eval["precision"])


def test_bad_input_through_the_api_is_named(tmp_path):
    gt, dt = make_coco(0, n_images=4, n_categories=2)
    gt["annotations"][1]["bbox"] = "1234"
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(gt)
        ev = COCOeval(coco, coco.loadRes(dt), "bbox")
        with pytest.raises(ValueError, match=r"annotations\[1\]\.bbox must be a list of 4 numbers"):
            ev.evaluate()
        with pytest.raises(ValueError, match="is not an image of this dataset"):
            coco.loadRes([dict(dt[0], image_id=-5)])
        with pytest.raises(ValueError, match="not a regular file"):
            COCO("/dev/zero")
        with pytest.raises(ValueError, match="iouType must be 'bbox', 'segm' or 'keypoints'"):
            COCOeval(coco, coco, "mask")
        with pytest.raises(RuntimeError, match="Please run accumulate"):
            COCOeval(coco, coco, "bbox").summarize()
