"""HTTP benchmark: the home page and a post page under wrk, against a bare Django JSON view.

Run with ``make bench`` (``POSTS`` sets the seeded size, default 10,000; ``BENCH_SECONDS`` the time per
endpoint). The last line is one JSON object: requests/s and p50/p95/p99 latency per endpoint, the
bare view being the baseline measured in the same run.
"""

from __future__ import annotations

import json
import os

from benchmarks.harness import ensure_database, gunicorn, log, require_wrk, wrk


def main() -> None:
    posts = int(os.environ.get("POSTS", "10000"))
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    require_wrk()
    ensure_database(posts)
    results: dict[str, object] = {"posts": posts, "seconds_per_endpoint": seconds}
    with gunicorn(workers=2) as base:
        for name, path in [("bare", "/bench/bare/"), ("home", "/"), ("post", "/posts/demo-1/")]:
            log(f"{name}: {path}")
            results[name] = wrk(base + path, seconds=seconds)
    bare_rps = results["bare"]["rps"]  # type: ignore[index]
    results["home_vs_bare_pct"] = round(100 * results["home"]["rps"] / bare_rps, 1)  # type: ignore[index]
    results["post_vs_bare_pct"] = round(100 * results["post"]["rps"] / bare_rps, 1)  # type: ignore[index]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
