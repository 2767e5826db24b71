"""Shared test configuration: non-interactive plotting and a numba cache outside the tree."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
