"""Shared test configuration: headless plotting, float64 defaults are set per test where needed."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
