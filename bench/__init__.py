"""Benchmarks for the shop: `make bench` serves it as production does (bench/production.py,
results in bench/results/); `python -m bench` is the older in-process one (bench/RESULTS.md)."""
