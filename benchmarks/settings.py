"""Benchmark settings: the real settings plus URLs that exist only for benchmark baselines."""

from __future__ import annotations

from project.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
