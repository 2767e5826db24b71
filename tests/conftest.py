"""Shared test configuration.

- Non-interactive plotting.
- One BLAS thread per test process: the suite runs with ``-n 2`` on 2 cores, and
  multi-threaded OpenBLAS on small (~150 x 150) matrices with every core busy was measured
  10-100x slower (docs/cycles.md, docs/continuation.md). Set before numpy is imported.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
