"""Train the scratch (NumPy) LeNet-5 on the embedded digits and report test accuracy and wall time.

SGD momentum 0.9, lr 0.05 with a per-step cosine decay to 0, batch 64, 20 epochs; weight decay 5e-4,
label smoothing 0.1, random shifts of ±2 px (all configurable).
Usage: ``python benchmarks/train_scratch_lenet.py [--epochs 20] [--threads 2] [--shift 2]``.
"""

from __future__ import annotations

import argparse
import math
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--shift", type=int, default=2, help="random translation in pixels (0: none)")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    from dlprimer.data.digits import load_digits_arrays
    from dlprimer.scratch import data, optim, trainer
    from dlprimer.scratch.models import lenet5

    splits = load_digits_arrays(seed=args.seed, size=32)
    rng = np.random.default_rng(args.seed)
    model = lenet5(generator=rng)
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.weight_decay)
    loader = data.DataLoader(data.TensorDataset(splits.train.images, splits.train.labels),
                             batch_size=args.batch_size, shuffle=True, generator=rng)
    total = args.epochs * len(loader)

    def cosine(step: int) -> float:
        return 0.5 * args.lr * (1 + math.cos(math.pi * step / total))

    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        stats = trainer.train_one_epoch(model, loader, opt, lr=cosine, start_step=epoch * len(loader),
                                        label_smoothing=args.label_smoothing,
                                        augment=lambda x: data.random_shift(x, args.shift, rng))
        val = trainer.evaluate(model, splits.val.images, splits.val.labels)
        print(f"epoch {epoch + 1:2d}  loss {stats['loss']:.4f}  train acc {stats['accuracy']:.4f}  "
              f"val acc {val['accuracy']:.4f}  ({time.perf_counter() - t0:.1f} s)", flush=True)
    test = trainer.evaluate(model, splits.test.images, splits.test.labels)
    print(f"test accuracy {test['accuracy']:.4f}  wall time {time.perf_counter() - t0:.1f} s "
          f"({args.threads} threads)")


if __name__ == "__main__":
    main()
