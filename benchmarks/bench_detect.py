"""Detection benchmark: each detector trained on the embedded scenes, the engine's overhead against a plain
PyTorch loop, inference speed, and the peer (ultralytics' YOLOv8n from scratch, same scenes, same wall time).

For every model (``--models``): training images/s, validation AP after each evaluated epoch against training
minutes, test AP / AP50 / AP_small / AR@100, inference images/s at batch 1 and 16 (``predict``: forward + decode
+ NMS). Engine overhead: ``--overhead-steps`` batches through the one engine (``TorchEngine.train_epoch``: AMP
context, clipping, schedule, EMA) against the same model, batches and optimizer in a bare ``loss.backward();
optimizer.step()`` loop, timed in one process (target ≤ 3 %). The peer runs only when ``ultralytics`` is
installed (``pip install ultralytics``, the bench extra): the scenes are exported, converted to YOLO txt labels
and ``YOLO("yolov8n.yaml")`` (no pretrained weights) trains for the same wall time as our default model; its
AP / AP50 are scored by our COCO evaluator on its detections of the same test images.

    python benchmarks/bench_detect.py --quick                 # tiny: checks the script runs (~2 min)
    python benchmarks/bench_detect.py                         # the full comparison (tens of minutes on 2 cores)
    python benchmarks/bench_detect.py --models centernet --epochs 6

Timings depend on the machine's load: report ratios measured in one run.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import torch
from _timing import median_time, paired_median_times

from dlprimer.train.detection import DetectConfig, fit_detection, load_detection_run
from dlprimer.train.detection.data import to_float
from dlprimer.train.engine import make_engine, make_task


def bench_model(name: str, args: argparse.Namespace, out: Path) -> dict:
    cfg = DetectConfig(model=name, epochs=args.epochs, n_train=args.n_train, n_val=args.n_val, n_test=args.n_test,
                       batch_size=args.batch_size, eval_every=1, out=str(out), name=name)
    t0 = time.perf_counter()
    result = fit_detection(cfg, overwrite=True)
    wall = time.perf_counter() - t0
    train_s = sum(r["time_s"] for r in result.history)
    curve, minutes = [], 0.0
    for row in result.history:
        minutes += row["time_s"] / 60
        if "val_AP" in row:
            curve.append((round(minutes, 2), round(row["val_AP"], 4), round(row["val_AP50"], 4)))
    _, model, data = load_detection_run(result.run_dir)
    test = data.splits["test"]
    speed = {}
    for bs in (1, 16):
        x = to_float(torch.stack([test[i]["image"] for i in range(bs)]))
        speed[f"infer_img_s_b{bs}"] = bs / median_time(lambda x=x: model.predict(x), 5)
    s = result.stats
    return {"model": name, "epochs": result.summary["epochs"],
            "train_img_s": args.n_train * result.summary["epochs"] / train_s, "train_minutes": train_s / 60,
            "wall_minutes": wall / 60, "AP": s["AP"], "AP50": s["AP50"], "AP_small": s["AP_small"],
            "AR@100": s["AR@100"], "val_curve (min, AP, AP50)": curve, **speed}


def engine_overhead(name: str, args: argparse.Namespace) -> dict:
    """The one engine's per-batch loop (``TorchEngine.train_epoch``: batch to float, AMP context, loss through the
    task, clipping, schedule, EMA, statistics, callbacks) against a hand-written PyTorch loop doing the same
    training step on the same batches and model — forward, loss, ``backward``, clip the gradient norm,
    ``optimizer.step``, EMA update — so the difference is the engine's own machinery. Also reported: a bare
    ``backward(); step()`` loop (what clipping and the EMA cost). Timed alternately (one load for both)."""
    from dlprimer.train.ema import ModelEMA

    cfg = DetectConfig(model=name, epochs=1, n_train=args.overhead_steps * args.batch_size, n_val=2, n_test=2,
                       batch_size=args.batch_size, augment="none")
    task = make_task(cfg)
    engine = make_engine(cfg, task)
    batches = list(engine.loader)
    plain_model = copy.deepcopy(engine.model)
    plain_opt = torch.optim.AdamW(task.param_groups(plain_model, cfg), lr=cfg.lr)
    plain_ema = ModelEMA(plain_model, cfg.ema_decay)

    def plain(same_step: bool) -> None:
        plain_model.train()
        for images, targets in batches:
            loss, _ = plain_model.training_loss(to_float(images), targets)
            plain_opt.zero_grad(set_to_none=True)
            loss.backward()
            if same_step:
                torch.nn.utils.clip_grad_norm_(plain_model.parameters(), cfg.clip_grad)
            plain_opt.step()
            if same_step:
                plain_ema.update(plain_model)

    class _Fixed(list):  # our loop over the same pre-built batches (data loading excluded from both)
        dataset = engine.loader.dataset

    engine.loader = _Fixed(batches)
    ours, same = paired_median_times(lambda: engine.train_epoch(1), lambda: plain(True), args.repeats)
    _, bare = paired_median_times(lambda: plain(True), lambda: plain(False), args.repeats)
    return {"model": name, "ours_s": ours, "plain_s": same, "bare_s": bare, "overhead_pct": 100 * (ours / same - 1),
            "clip_ema_pct": 100 * (same / bare - 1)}


def peer_yolov8n(args: argparse.Namespace, out: Path, seconds: float) -> dict | None:
    try:
        from ultralytics import YOLO
    except ImportError:
        print("ultralytics is not installed: the YOLOv8n peer is skipped (pip install ultralytics)")
        return None
    from dlprimer.data.scenes import SceneConfig, export_scenes
    from dlprimer.metrics.coco import evaluate

    scene_cfg = SceneConfig(n_train=args.n_train, n_val=args.n_val, n_test=args.n_test)
    root = out / "scenes"
    export_scenes(root, scene_cfg, overwrite=True)
    for split in ("train", "val", "test"):  # YOLO txt labels next to images/ (labels/<split>/<stem>.txt)
        coco = json.loads((root / "annotations" / f"instances_{split}.json").read_text())
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        by_image = {im["id"]: [] for im in coco["images"]}
        for a in coco["annotations"]:
            by_image[a["image_id"]].append(a)
        for im in coco["images"]:
            s = float(im["width"]), float(im["height"])
            lines = [f"{a['category_id'] - 1} {(a['bbox'][0] + a['bbox'][2] / 2) / s[0]:.6f} "
                     f"{(a['bbox'][1] + a['bbox'][3] / 2) / s[1]:.6f} {a['bbox'][2] / s[0]:.6f} "
                     f"{a['bbox'][3] / s[1]:.6f}" for a in by_image[im["id"]]]
            (root / "labels" / split / (Path(im["file_name"]).stem + ".txt")).write_text("\n".join(lines))
    yaml = root / "data.yaml"
    yaml.write_text(f"path: {root}\ntrain: images/train\nval: images/val\ntest: images/test\n"
                    f"names: {{{', '.join(f'{d}: {chr(39)}{d}{chr(39)}' for d in range(10))}}}\n")
    model = YOLO("yolov8n.yaml")  # architecture only: no pretrained weights
    model.train(data=str(yaml), imgsz=128, epochs=1000, time=seconds / 3600, batch=args.batch_size, device="cpu",
                workers=0, pretrained=False, project=str(out / "peer"), name="yolov8n", exist_ok=True, verbose=False,
                fliplr=0.0, plots=False)
    coco = json.loads((root / "annotations" / "instances_test.json").read_text())
    records = []
    for im in coco["images"]:
        r = model.predict(str(root / "images" / "test" / im["file_name"]), imgsz=128, conf=0.001, verbose=False)[0]
        for (x1, y1, x2, y2), sc, c in zip(r.boxes.xyxy.tolist(), r.boxes.conf.tolist(), r.boxes.cls.tolist(),
                                           strict=True):
            records.append({"image_id": im["id"], "category_id": int(c) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                            "score": sc})
    stats = evaluate(coco, records).to_dict()["stats"]
    return {"model": "ultralytics yolov8n (scratch)", "AP": stats["AP"], "AP50": stats["AP50"],
            "train_minutes": seconds / 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["centernet", "yolo", "fcos", "fasterrcnn"])
    parser.add_argument("--epochs", type=int, default=None, help="default: each model's own (MODEL_DEFAULTS)")
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--n-val", type=int, default=500)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--overhead-steps", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that the script runs")
    parser.add_argument("--no-overhead", action="store_true", help="skip the engine-overhead measurement")
    parser.add_argument("--no-peer", action="store_true", help="skip the ultralytics YOLOv8n peer")
    parser.add_argument("--out", default=None, help="folder for the runs (default: a temporary folder)")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.n_train, args.n_val, args.n_test, args.overhead_steps, args.repeats = 1, 32, 8, 16, 2, 1
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    print(f"torch threads: {torch.get_num_threads()}; scenes {args.n_train}/{args.n_val}/{args.n_test}, "
          f"epochs {args.epochs or 'per model'}, batch {args.batch_size}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        rows = [bench_model(m, args, out) for m in args.models]
        for r in rows:
            print(json.dumps(r))
        print("| model | train img/s (incl. val) | train min | AP | AP50 | AP_small | AR@100 | infer img/s b1 | b16 |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['model']} | {r['train_img_s']:.1f} | {r['train_minutes']:.2f} | {r['AP']:.3f} | "
                  f"{r['AP50']:.3f} | {r['AP_small']:.3f} | {r['AR@100']:.3f} | {r['infer_img_s_b1']:.1f} | "
                  f"{r['infer_img_s_b16']:.1f} |")
        for m in [] if args.no_overhead else args.models[:1]:
            o = engine_overhead(m, args)
            print(f"engine overhead ({m}, {args.overhead_steps} batches): ours {o['ours_s']:.3f} s vs the same step "
                  f"by hand {o['plain_s']:.3f} s = {o['overhead_pct']:+.1f} % (clipping + EMA cost "
                  f"{o['clip_ema_pct']:+.1f} % over a bare backward/step loop, {o['bare_s']:.3f} s)")
        peer = None if args.no_peer else peer_yolov8n(args, out, rows[0]["train_minutes"] * 60)
        if peer is not None:
            print(f"peer {peer['model']}: AP {peer['AP']:.3f} AP50 {peer['AP50']:.3f} in {peer['train_minutes']:.1f} "
                  f"min vs ours ({rows[0]['model']}): AP {rows[0]['AP']:.3f} AP50 {rows[0]['AP50']:.3f}")


if __name__ == "__main__":
    main()
