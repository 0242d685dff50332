"""Benchmarks for the shop (`make bench`); results are recorded in bench/RESULTS.md."""
