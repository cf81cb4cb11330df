"""Benchmarks: each prints a last line of JSON with its figures and a baseline from the same run."""
