"""Cache benchmark: the talk's request-path refill against the background-filled cache and a plain hit.

Run with ``make bench-cache``. gunicorn (2 sync workers) serves three endpoints backed by the same
300 ms function (benchmarks/urls.py), ``KEYS`` (8) keys each going stale every
``BENCH_CACHE_REFRESH_SECONDS`` (3):

- naive: ``cache.get``; on expiry the request that finds it recomputes (and so do its neighbours);
- background: ``project.cache.background.background_cached``, refreshed by a real Celery worker process;
- hit: a plain ``cache.get`` of a value that never expires (the ceiling).

Two phases of ``BENCH_SECONDS`` (30) each, ``CONCURRENCY`` (8) client threads picking keys at
random. Phase one mixes background and hit requests at random in the same threads, so both see
the same moment of a shared machine's noise: their p99s are comparable. Phase two is naive alone
(its blocked workers would slow anything sharing the server).

The background endpoint reports in headers each response's state, value time and whether it
enqueued the refresh, so the run counts exactly: ``stale_windows`` is the number of distinct
(key, value time) pairs served stale, ``refreshes_enqueued`` the responses that enqueued one, and
``duplicate_enqueues`` any second enqueue for one window. The last line is the JSON.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis

from benchmarks.harness import BASE_DIR, bench_env, gunicorn, log, stop

CELERY = [sys.executable, "-m", "celery", "-A", "project"]
MODES = ("naive", "background", "hit")

# One response: (mode, latency ms, key, X-Cache-State, X-Computed-At, X-Refresh-Enqueued).
Response = tuple[str, float, int, str, str, str]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def drive(base: str, modes: list[str], *, keys: int, seconds: float, concurrency: int) -> list[Response]:
    """GET ``/bench/cache/<mode>/<key>/`` (mode and key at random) from ``concurrency`` threads for ``seconds``."""
    parts = urlsplit(base)
    stop = time.monotonic() + seconds
    responses: list[Response] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311  # picks keys, not secrets
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        mine: list[Response] = []
        while time.monotonic() < stop:
            mode, key = rng.choice(modes), rng.randrange(keys)
            started = time.perf_counter()
            try:
                connection.request("GET", f"/bench/cache/{mode}/{key}/")
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                mine.append((mode, -1.0, key, type(exc).__name__, "", ""))
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                mine.append((mode, -1.0, key, str(response.status), "", ""))
                continue
            header = response.getheader
            mine.append(
                (
                    mode,
                    elapsed,
                    key,
                    header("X-Cache-State", ""),
                    header("X-Computed-At", ""),
                    header("X-Refresh-Enqueued", ""),
                )
            )
        connection.close()
        with lock:
            responses.extend(mine)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def figures(responses: list[Response], seconds: float) -> dict[str, float]:
    latencies = [r[1] for r in responses if r[1] >= 0]
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "errors": len(responses) - len(latencies),
    }


@contextlib.contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[None]:
    """A real Celery worker process (threads: the refreshes mostly wait) on the benchmark broker."""
    process = subprocess.Popen(
        [*CELERY, "worker", "-P", "threads", "-c", "4", "-Q", "celery", "-l", "warning", "--without-gossip"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # a pipe nobody reads would fill up and stall the worker
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:  # ready when it answers a ping (it consumes tasks from then on)
            ping = [*CELERY, "inspect", "ping", "--timeout", "2"]
            if subprocess.run(ping, cwd=BASE_DIR, env=env, capture_output=True, check=False).returncode == 0:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("celery worker did not start (run it by hand to see why: celery -A project worker)")
        yield
    finally:
        stop(process)


def main() -> None:
    seconds = float(os.environ.get("BENCH_SECONDS", "30"))
    keys = int(os.environ.get("KEYS", "8"))
    concurrency = int(os.environ.get("CONCURRENCY", "8"))
    refresh_after = int(os.environ.get("BENCH_CACHE_REFRESH_SECONDS", "3"))
    # The caller's Redis databases when set (one per person on a shared machine), else the harness's.
    extra = {name: os.environ[name] for name in ("REDIS_URL", "CELERY_BROKER_URL") if os.environ.get(name)}
    # No worker recycling mid-run: a restarting gunicorn worker would stall whichever mode is running.
    env = bench_env(BENCH_CACHE_REFRESH_SECONDS=str(refresh_after), GUNICORN_MAX_REQUESTS="0", **extra)
    cache_redis = redis.Redis.from_url(env["REDIS_URL"])
    for pattern in ("bench:*", "*bgcache:1:benchmarks.urls:*"):  # only this benchmark's keys
        for key in cache_redis.scan_iter(pattern):
            cache_redis.delete(key)

    results: dict[str, object] = {
        "seconds_per_phase": seconds,
        "keys": keys,
        "concurrency": concurrency,
        "refresh_after_s": refresh_after,
        "slow_function_ms": 300,
    }
    responses: list[Response] = []
    with celery_worker(env), gunicorn(env, workers=2) as base:
        for mode in MODES:  # warm-up: the first-ever value of every key, computed once
            for key in range(keys):
                with urllib.request.urlopen(f"{base}/bench/cache/{mode}/{key}/", timeout=30) as response:
                    response.read()
        cache_redis.delete("bench:cache:computations")
        log(
            f"background + hit, mixed: {seconds:.0f} s, {concurrency} clients, {keys} keys stale every {refresh_after} s"
        )
        responses += drive(base, ["background", "hit"], keys=keys, seconds=seconds, concurrency=concurrency)
        time.sleep(1)  # let the last refreshes land before counting them
        results["refreshes_done"] = sum(int(n) for n in cache_redis.hgetall("bench:cache:computations").values())
        log(f"naive: {seconds:.0f} s")
        responses += drive(base, ["naive"], keys=keys, seconds=seconds, concurrency=concurrency)

    by_mode: dict[str, list[Response]] = defaultdict(list)
    for response in responses:
        by_mode[response[0]].append(response)
    for mode in MODES:
        results[mode] = figures(by_mode[mode], seconds)
        log(f"{mode}: {results[mode]}")
    background = by_mode["background"]
    windows = {(key, at) for _, _, key, state, at, _ in background if state == "stale"}
    enqueued = Counter((key, at) for _, _, key, _, at, flag in background if flag == "1")
    results["stale_windows"] = len(windows)
    results["refreshes_enqueued"] = sum(enqueued.values())
    results["duplicate_enqueues"] = sum(count - 1 for count in enqueued.values() if count > 1)
    results["stale_windows_without_enqueue"] = len(windows - set(enqueued))
    results["background_states"] = dict(Counter(r[3] for r in background))
    naive, ours, hit = (results[mode] for mode in MODES)
    results["targets_met"] = {
        "background_p99_within_2x_hit": ours["p99_ms"] <= 2 * hit["p99_ms"],  # type: ignore[index]
        "naive_p99_at_least_300ms": naive["p99_ms"] >= 300,  # type: ignore[index]
        "one_refresh_per_stale_window": results["refreshes_enqueued"] == results["stale_windows"]
        and not results["duplicate_enqueues"],
    }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
