"""Transfer on the digits: pretrain on classes 0–4, fine-tune on 5–9 with 10 % of their labels, against the same
model trained from scratch on those labels. Reported, not asserted.

    OMP_NUM_THREADS=1 python benchmarks/finetune_digits.py [--model lenet5] [--epochs 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from dlprimer.train import TrainConfig, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each run (fine-tuning: half head-only)")
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    half = opts.epochs // 2
    with tempfile.TemporaryDirectory() as out:
        common = dict(out=out, model=opts.model, seed=opts.seed, batch_size=32)
        t0 = time.perf_counter()
        pre = fit(TrainConfig(name="pre", epochs=opts.epochs, classes="0,1,2,3,4", **common))
        target = dict(classes="5,6,7,8,9", label_fraction=opts.fraction, **common)
        tuned = fit(TrainConfig(name="tuned", init_from=str(pre.run_dir), finetune="head,all",
                                stage_epochs=f"{half},{opts.epochs - half}", **target))
        tuned_all = fit(TrainConfig(name="tuned-all", init_from=str(pre.run_dir), epochs=opts.epochs, **target))
        scratch = fit(TrainConfig(name="scratch", epochs=opts.epochs, **target))
        n = len(tuned.history) and tuned.summary["data"]
        print(f"{opts.model}: pretrained on digits 0-4 (test accuracy {pre.test_accuracy:.4f}); "
              f"5-9 with {opts.fraction:.0%} of the training labels, {opts.epochs} epochs each")
        print(f"  fine-tuned (head {half} epochs, then all):  test accuracy {tuned.test_accuracy:.4f}")
        print(f"  fine-tuned (all layers from the start):      test accuracy {tuned_all.test_accuracy:.4f}")
        print(f"  trained from scratch:                         test accuracy {scratch.test_accuracy:.4f}")
        print(f"  ({n['num_classes']} classes; total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
