"""Shared test configuration.

- Headless plotting (``MPLBACKEND=Agg``).
- One intra-op thread for torch and the BLAS libraries, set before torch is imported and inherited by
  subprocesses: the suite's models are tiny, and on a busy 2-core machine several threads per process
  oversubscribe the cores (measured here: a LeNet-5 epoch 23× slower with 2 threads than with 1 under load).
  It also gives the in-process and subprocess runs of the resume test the same reduction order.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"
