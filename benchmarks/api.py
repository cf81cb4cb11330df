"""API benchmark: the post list (20 per page, with author, tags and comment count) under wrk.

Compares, in the same run, this project's ``/api/v1/posts/`` with a DRF-tutorial viewset
(``benchmarks/naive_api.py``) and a bare Django JSON view, at 10,000 and 1,000,000 posts, each
size in its own database (``<BENCH_DB>_10k``, ``<BENCH_DB>_1m``). Queries per request are counted
in-process at 20 and at 100 per page: ours stays constant, the naive one grows with the page.

Run with ``make bench-api``; ``BENCH_API_SIZES`` (default ``10k=10000,1m=1000000``) and
``BENCH_SECONDS`` (default 10 per run) and ``BENCH_ROUNDS`` (default 2; each cell keeps its best
round, the runs interleaved so outside load hits every cell alike) shorten it while developing. The
last line is JSON.
"""

from __future__ import annotations

import contextlib
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
# Every alias is counted: with a replica configured, the router sends these GETs' reads there.
COUNT_QUERIES = """
import contextlib, json, django
django.setup()
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
client, counts = Client(), {}
for name, path in json.loads(__import__("sys").argv[1]).items():
    client.get(path)  # warm up: a process's first request also measures the replica's lag
    for size in (20, 100):
        with contextlib.ExitStack() as stack:
            contexts = [stack.enter_context(CaptureQueriesContext(connections[a])) for a in connections]
            response = client.get(path, {"page_size": size})
        assert response.status_code == 200, (path, response.status_code)
        assert len(response.json()["results"]) == size, (path, size)
        counts[f"{name}_{size}"] = sum(len(ctx.captured_queries) for ctx in contexts)
print(json.dumps(counts))
"""


def bench_env(database: str) -> dict[str, str]:
    """Production settings on one benchmark database, with throttles far above what wrk sends.

    The throttles still run (their cache round trips are part of the cost), but over a one-second
    window: DRF keeps every request's timestamp in the window, so a per-minute rate would make wrk's
    single IP carry a history of thousands of entries, far more than a real client's 120/min does.
    """
    harness.BENCH_DB = database
    return harness.bench_env(
        API_THROTTLE_ANON_RATE="1000000/s",
        API_THROTTLE_USER_RATE="1000000/s",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
        DATABASE_POOL_MAX_SIZE="4",
    )


def count_queries(database: str) -> dict[str, int]:
    env = bench_env(database)
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
    rounds = int(os.environ.get("BENCH_ROUNDS", "2"))
    sizes = [
        (label, int(count))
        for label, count in (
            item.split("=") for item in os.environ.get("BENCH_API_SIZES", "10k=10000,1m=1000000").split(",")
        )
    ]
    base_db = os.environ.get("BENCH_DB", "django_at_scale_bench")
    databases = {label: f"{base_db}_{label}" for label, _ in sizes}
    require_wrk()
    counts: dict[str, dict[str, int]] = {}
    for label, posts in sizes:
        log(f"{label}: database {databases[label]}")
        harness.BENCH_DB = databases[label]
        ensure_database(posts)
        counts[label] = count_queries(databases[label])
    # One server per size, all up at once, and the runs interleaved round by round: load from
    # elsewhere on the machine then hits every cell alike instead of whichever ran last. Each
    # cell keeps its best round (the least disturbed).
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    with contextlib.ExitStack() as stack:
        bases = {label: stack.enter_context(gunicorn(env=bench_env(databases[label]), workers=2)) for label, _ in sizes}
        for number in range(1, rounds + 1):
            runs.setdefault(("bare", ""), []).append(wrk(bases[sizes[0][0]] + BARE, seconds=seconds))
            for label, _ in sizes:
                for name, path in (("ours", OURS), ("naive", NAIVE)):
                    log(f"round {number}/{rounds}: {label} {name} {path}")
                    runs.setdefault((name, label), []).append(wrk(bases[label] + path, seconds=seconds))

    def best(key: tuple[str, str]) -> dict[str, float]:
        return max(runs[key], key=lambda run: run["rps"])

    result: dict[str, dict] = {
        "ours": {label: figures(best(("ours", label)), counts[label]["ours_20"]) for label, _ in sizes},
        "naive": {label: figures(best(("naive", label)), counts[label]["naive_20"]) for label, _ in sizes},
        "bare": figures(best(("bare", ""))),
    }
    first, last = sizes[0][0], sizes[-1][0]
    ours, naive = result["ours"], result["naive"]
    result["queries_at_page_size"] = counts
    result["targets"] = {
        "ours_vs_naive_rps_x": {label: round(ours[label]["rps"] / naive[label]["rps"], 1) for label, _ in sizes},
        "ours_queries_constant": all(c["ours_20"] == c["ours_100"] for c in counts.values()),
        "naive_queries_grow": all(c["naive_100"] > c["naive_20"] for c in counts.values()),
        f"ours_{first}_vs_{last}_rps_x": round(ours[first]["rps"] / ours[last]["rps"], 2),
        "ours_vs_bare_rps_pct": {
            label: round(100 * ours[label]["rps"] / result["bare"]["rps"], 1) for label, _ in sizes
        },
    }
    # Every round's requests/s, so the spread (the machine's noise) is visible beside the best.
    result["rps_per_round"] = {
        f"{name}_{label}" if label else name: [round(r["rps"], 1) for r in cell] for (name, label), cell in runs.items()
    }
    result["settings"] = {"seconds_per_run": seconds, "rounds": rounds, "gunicorn_workers_per_size": 2}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
