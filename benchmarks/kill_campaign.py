"""Kill ``dlprimer train`` (tiny config) with SIGKILL at random instants, resume, and count identical endings.

The instants are uniform over the whole run of an uninterrupted reference (start-up included). After each kill
the run is resumed with ``dlprimer train --resume`` (in a fresh process) and its ``metrics.jsonl`` and
``summary.json`` — every key without "time" in its name — are compared with the reference's.

    OMP_NUM_THREADS=1 python benchmarks/kill_campaign.py --kills 20
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY = ["--epochs", "3", "--batch-size", "64", "--image-size", "16", "--quiet"]


def without_time(obj):
    if isinstance(obj, dict):
        return {k: without_time(v) for k, v in obj.items() if "time" not in k}
    if isinstance(obj, list):
        return [without_time(v) for v in obj]
    return obj


def outcome(run: Path):
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return without_time(rows), without_time(json.loads((run / "summary.json").read_text()))


def train(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("DLPRIMER_CRASH_AT", None)
    return subprocess.Popen([sys.executable, "-m", "dlprimer", "train", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    rng = random.Random(opts.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        ref = train([*TINY, "--out", str(root), "--name", "ref"])
        assert ref.wait() == 0, ref.stderr.read().decode()
        duration = time.perf_counter() - t0
        expected = outcome(root / "ref")
        print(f"uninterrupted run: {duration:.1f} s; killing at {opts.kills} instants uniform in [0, {duration:.1f}] s")
        identical, killed_before_end = 0, 0
        for k in range(opts.kills):
            name = f"k{k}"
            at = rng.uniform(0.0, duration)
            proc = train([*TINY, "--out", str(root), "--name", name])
            time.sleep(at)
            finished = proc.poll() is not None
            if not finished:
                os.kill(proc.pid, signal.SIGKILL)
                killed_before_end += 1
            proc.wait()
            run = root / name
            if not run.exists():  # killed before the run folder was claimed: start again, as a user would
                again = train([*TINY, "--out", str(root), "--name", name])
            else:
                again = train(["--resume", str(run), "--quiet"])
            rc = again.wait()
            ok = rc == 0 and outcome(run) == expected
            identical += ok
            state = "finished" if finished else "killed"
            print(f"  kill {k:2d} at {at:5.2f} s ({state:8s}; folder {'existed' if run.exists() else 'absent'}): "
                  f"{'identical' if ok else 'DIFFERENT (rc ' + str(rc) + ')'}")
        print(f"{identical}/{opts.kills} runs ended identical to the uninterrupted run "
              f"({killed_before_end} were killed before they ended)")


if __name__ == "__main__":
    main()
