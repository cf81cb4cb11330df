"""API benchmark: the post list (20 per page, with author, tags and comment count) under wrk.

Compares, in the same run, this project's ``/api/v1/posts/`` with a DRF-tutorial viewset
(``benchmarks/naive_api.py``) and a bare Django JSON view, at 10,000 and 1,000,000 posts, each
size in its own database (``<BENCH_DB>_10k``, ``<BENCH_DB>_1m``). Queries per request are counted
in-process at 20 and at 100 per page: ours stays constant, the naive one grows with the page.

Run with ``make bench-api``; ``BENCH_API_SIZES`` (default ``10k=10000,1m=1000000``) and
``BENCH_SECONDS`` (default 10 per endpoint) shorten it while developing. The last line is JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks import harness
from benchmarks.harness import BASE_DIR, ensure_database, gunicorn, log, require_wrk, wrk

OURS = "/api/v1/posts/"
NAIVE = "/bench/naive-api/posts/"
BARE = "/bench/bare/"

# Count queries in a child process on the benchmark settings: no test database, the real data.
COUNT_QUERIES = """
import json, django
django.setup()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client, counts = Client(), {}
for name, path in json.loads(__import__("sys").argv[1]).items():
    for size in (20, 100):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, {"page_size": size})
        assert response.status_code == 200, (path, response.status_code)
        assert len(response.json()["results"]) == size, (path, size)
        counts[f"{name}_{size}"] = len(ctx.captured_queries)
print(json.dumps(counts))
"""


def bench_env() -> dict[str, str]:
    """Production settings on the benchmark database, with throttles far above what wrk sends."""
    return harness.bench_env(
        API_THROTTLE_ANON_RATE="100000000/min",
        API_THROTTLE_USER_RATE="100000000/min",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        DATABASE_POOL_MAX_SIZE="4",
    )


def count_queries() -> dict[str, int]:
    env = bench_env()
    env["DJANGO_ALLOWED_HOSTS"] = "testserver"
    result = subprocess.run(
        [sys.executable, "-c", COUNT_QUERIES, json.dumps({"ours": OURS, "naive": NAIVE})],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"counting queries failed:\n{result.stderr}")
    counts: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return counts


def figures(run: dict[str, float], queries: int | None = None) -> dict[str, float]:
    out = {"rps": round(run["rps"], 1), "p50_ms": round(run["p50_ms"], 2), "p99_ms": round(run["p99_ms"], 2)}
    if queries is not None:
        out["queries"] = queries
    return out


def main() -> None:
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    sizes = [
        (label, int(count))
        for label, count in (
            item.split("=") for item in os.environ.get("BENCH_API_SIZES", "10k=10000,1m=1000000").split(",")
        )
    ]
    base_db = os.environ.get("BENCH_DB", "django_at_scale_bench")
    require_wrk()
    result: dict[str, dict] = {"ours": {}, "naive": {}, "bare": {}}
    details: dict[str, dict] = {}
    bare_runs = []
    for label, posts in sizes:
        harness.BENCH_DB = f"{base_db}_{label}"
        log(f"{label}: database {harness.BENCH_DB}")
        ensure_database(posts)
        counts = count_queries()
        details[label] = counts
        with gunicorn(env=bench_env(), workers=2) as base:
            bare_runs.append(wrk(base + BARE, seconds=seconds))
            for name, path in (("ours", OURS), ("naive", NAIVE)):
                log(f"{label} {name}: {path}")
                result[name][label] = figures(wrk(base + path, seconds=seconds), counts[f"{name}_20"])
    best_bare = max(bare_runs, key=lambda run: run["rps"])
    result["bare"] = figures(best_bare)
    first, last = sizes[0][0], sizes[-1][0]
    ours, naive = result["ours"], result["naive"]
    result["queries_at_page_size"] = {
        label: {
            "ours_20": c["ours_20"],
            "ours_100": c["ours_100"],
            "naive_20": c["naive_20"],
            "naive_100": c["naive_100"],
        }
        for label, c in details.items()
    }
    result["targets"] = {
        "ours_vs_naive_rps_x": {label: round(ours[label]["rps"] / naive[label]["rps"], 1) for label, _ in sizes},
        "ours_queries_constant": all(c["ours_20"] == c["ours_100"] for c in details.values()),
        "naive_queries_grow": all(c["naive_100"] > c["naive_20"] for c in details.values()),
        f"ours_{first}_vs_{last}_rps_x": round(ours[first]["rps"] / ours[last]["rps"], 2),
        "ours_vs_bare_rps_pct": {
            label: round(100 * ours[label]["rps"] / result["bare"]["rps"], 1) for label, _ in sizes
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
