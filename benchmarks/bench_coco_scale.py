"""Keypoints vs pycocotools, and LVIS-size bbox (1,000 categories, cap 300): time and peak memory of dlprimer
vs faster-coco-eval, and how both grow with the number of images. Each tool runs in a fresh process so its
peak resident memory (``ru_maxrss``) is its own.

    python benchmarks/bench_coco_scale.py keypoints --images 500
    python benchmarks/bench_coco_scale.py lvis --images 2000 5000    # 20000 for the full LVIS size
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import contextlib, io, json, logging, resource, sys, time
tool, kind, gt_path, dt_path = sys.argv[1:5]
gt, dt = json.load(open(gt_path)), json.load(open(dt_path))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
iou_type = "keypoints" if kind == "keypoints" else "bbox"
caps = [20] if kind == "keypoints" else [1, 10, 300]
t0 = time.perf_counter()
if tool == "dlprimer":
    from dlprimer.metrics.coco import evaluate
    stats = evaluate(gt, dt, iou_type=iou_type, max_dets=caps).stats.tolist()
elif tool == "pycocotools":
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(); coco.dataset = gt; coco.createIndex(); res = coco.loadRes(dt)
        t0 = time.perf_counter()
        ev = COCOeval(coco, res, iou_type); ev.params.maxDets = caps
        ev.evaluate(); ev.accumulate(); ev.summarize()
    stats = ev.stats.tolist()
else:
    from faster_coco_eval import COCO, COCOeval_faster
    logging.getLogger("faster_coco_eval").setLevel(logging.ERROR)
    coco = COCO(gt); res = coco.loadRes(dt)
    t0 = time.perf_counter()
    ev = COCOeval_faster(coco, res, iou_type, print_function=lambda *a, **k: None); ev.params.maxDets = caps
    ev.evaluate(); ev.accumulate(); ev.summarize()
    stats = list(map(float, ev.stats))
t = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"time": t, "peak_mib": peak / 1024, "data_mib": base / 1024, "stats": stats[:3]}))
"""


def _run(tool: str, kind: str, gt_path: str, dt_path: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, tool, kind, gt_path, dt_path], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["keypoints", "lvis"])
    ap.add_argument("--images", type=int, nargs="+", default=[500])
    ap.add_argument("--tools", nargs="+", default=None)
    args = ap.parse_args()
    from dlprimer.metrics.coco.synthetic import make_coco, make_coco_keypoints

    tools = args.tools or (["pycocotools", "dlprimer"] if args.kind == "keypoints" else ["faster", "dlprimer"])
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; peak = process max RSS")
    print(f"{'images':>7} {'dets':>9} " + " ".join(f"{t + ' s':>14} {t + ' MiB':>14}" for t in tools) + "  ratio")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.images:
            if args.kind == "keypoints":
                gt, dt = make_coco_keypoints(0, n_images=n, n_categories=1, gt_per_image=5, dt_per_image=20)
            else:
                gt, dt = make_coco(0, n_images=n, n_categories=1000, gt_per_image=12, dt_per_image=300)
            g, d = os.path.join(tmp, "gt.json"), os.path.join(tmp, "dt.json")
            with open(g, "w") as f:
                json.dump(gt, f)
            with open(d, "w") as f:
                json.dump(dt, f)
            del gt
            res = {t: _run(t, args.kind, g, d) for t in tools}
            first = res[tools[0]]["stats"]
            for t in tools[1:]:
                assert all(abs(a - b) < 1e-9 for a, b in zip(first, res[t]["stats"], strict=True)), res
            cells = " ".join(f"{res[t]['time']:>14.2f} {res[t]['peak_mib']:>14.0f}" for t in tools)
            print(f"{n:>7} {len(dt):>9} {cells}  {res[tools[0]]['time'] / res[tools[-1]]['time']:.1f}x", flush=True)
    print("first three stats equal across tools (1e-9)")


if __name__ == "__main__":
    main()
