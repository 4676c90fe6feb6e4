"""Defaults for a small RGB image folder, by measurement: a synthetic folder of three classes of coloured shapes
(disc, square, cross; random colour, size, position and background; 100 images each, 48-96 px) trained with
candidate settings; test accuracy and wall time of each.

    OMP_NUM_THREADS=1 python benchmarks/folder_defaults.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from dlprimer.train import TrainConfig, fit


def make_folder(root: Path, per_class: int = 100, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for name in ("disc", "square", "cross"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            s = int(rng.integers(48, 97))
            img = np.empty((s, s, 3), np.uint8)
            img[:] = rng.integers(0, 256, 3)
            yy, xx = np.mgrid[:s, :s]
            r = rng.uniform(0.15, 0.3) * s
            cy, cx = rng.uniform(r, s - r, 2)
            if name == "disc":
                mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            elif name == "square":
                mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
            else:
                mask = ((abs(yy - cy) <= r / 3) & (abs(xx - cx) <= r)) | ((abs(xx - cx) <= r / 3) & (abs(yy - cy) <= r))
            img[mask] = rng.integers(0, 256, 3)
            Image.fromarray(img).save(root / name / f"{i}.png")


def main() -> None:
    candidates = [
        dict(image_size=32, epochs=20, batch_size=32),  # the digits' defaults (SGD lr 0.05)
        dict(image_size=64, epochs=20, batch_size=32),
        dict(image_size=32, epochs=40, batch_size=16, optimizer="adam", lr=1e-3, weight_decay=0.0),
        dict(image_size=64, epochs=40, batch_size=16, optimizer="adam", lr=1e-3, weight_decay=0.0),
        dict(image_size=32, epochs=40, batch_size=16, optimizer="adam", lr=1e-3, weight_decay=0.0,
             augment="hflip"),
        dict(image_size=32, epochs=20, batch_size=32, model="resnet18", optimizer="adam", lr=1e-3,
             weight_decay=0.0),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "shapes"
        make_folder(data)
        for k, c in enumerate(candidates):
            t0 = time.perf_counter()
            r = fit(TrainConfig(data=str(data), out=tmp, name=f"c{k}", **c))
            print(f"{c}: test accuracy {r.test_accuracy:.3f}, {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
