"""Benchmarks: `python -m bench.<area>` prints the figures."""
