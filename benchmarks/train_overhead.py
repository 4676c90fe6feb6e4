"""Engine overhead: epochs of ``dlprimer train``'s engine vs the same model, data, optimizer and schedule in a plain
20-line PyTorch loop, timed in one run (medians). Target: at most 3 % slower.

    OMP_NUM_THREADS=1 python benchmarks/train_overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dlprimer import schedules
from dlprimer.augment import random_shift
from dlprimer.train import TrainConfig
from dlprimer.train.engine import prepare
from dlprimer.train.recipe import build_optimizer, build_run_schedule
from dlprimer.train.torch_engine import epoch_seed


def plain_epoch(model, loader, generator, optimizer, adapter, fill, seed, epoch) -> None:
    """The 20-line loop: the same batches, shifts, loss, optimizer and per-batch schedule."""
    model.train()
    generator.manual_seed(epoch_seed(seed, epoch))
    torch.manual_seed(epoch_seed(seed, epoch))
    criterion = torch.nn.CrossEntropyLoss()
    for images, labels in loader:
        images = random_shift(images, 2, generator, fill)
        loss = criterion(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        adapter.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    torch.set_num_threads(1)
    config = TrainConfig(epochs=opts.repeats + 1, device="cpu")
    ours = prepare(config).engine
    theirs = prepare(config).engine  # same data and model; the plain loop drives its own optimizer/schedule
    model, loader, gen = theirs.model, theirs.loader, theirs.generator
    optimizer = build_optimizer(config, model.parameters())
    adapter = schedules.ScheduleAdapter(optimizer, build_run_schedule(config, len(loader)))
    t_ours, t_plain = [], []
    for epoch in range(1, opts.repeats + 2):  # epoch 1 warms both up (not timed)
        t0 = time.perf_counter()
        ours.train_epoch(epoch)
        a = time.perf_counter() - t0
        t0 = time.perf_counter()
        plain_epoch(model, loader, gen, optimizer, adapter, ours.task.fill, config.seed, epoch)
        b = time.perf_counter() - t0
        if epoch > 1:
            t_ours.append(a)
            t_plain.append(b)
    a, b = statistics.median(t_ours), statistics.median(t_plain)
    print(f"one epoch of LeNet-5 on the digits (CPU, 1 thread): engine {a:.3f} s, plain loop {b:.3f} s, "
          f"ratio {a / b:.3f} ({(a / b - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
