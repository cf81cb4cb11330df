"""Admin benchmark: the post changelist at millions of rows, ours against stock Django's admin.

Run with ``make bench-admin`` (``ROWS`` posts, default 5,000,000; ``REPEATS`` timed requests per
page, default 15). It seeds two databases with ``seed_demo``, ``$BENCH_DB`` to ``ROWS`` posts and
``$BENCH_DB_10k`` to 10,000, vacuums and analyses both (the state autovacuum keeps a settled table
in), and serves both at once with gunicorn. Logged in as the demo staff user it times, one
request at a time and interleaved round by round, the post changelist unfiltered, filtered by status (drafts) and searched by a title word:
served by our admin (``/admin/``, project.admin.ModelAdmin) at both sizes, and by a stock
``django.contrib.admin.ModelAdmin`` on a second admin site (``/bench/stock-admin/``, registered
in benchmarks/urls.py only) at ``ROWS``. The last line is one JSON object of medians in
milliseconds, stock/ours speed-ups and ours-at-ROWS/ours-at-10k growth.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from typing import Any

from benchmarks.harness import BENCH_DB, bench_env, gunicorn, log, manage

SMALL_ROWS = 10_000
PAGES = {
    "plain": "",
    "filtered": "?status__exact=draft",  # one post in ten: the stock count rides our drafts index
    "search": "?q=latency",  # one of seed_demo's title words: in about one title in twelve
    # The other status, nine posts in ten: what stock Django's filtered COUNT(*) costs without help.
    "filtered_published": "?status__exact=published",
}
GROWTH_MAX = 1.3  # the targets: ours at ROWS within 1.3x of ours at 10k ...
SPEEDUP_MIN = {
    "plain": 5,
    "filtered": 10,  # the drafts' COUNT(*) rides an index, so stock pays least here
    "search": 15,
    "filtered_published": 15,
}  # ... and stock this many times slower


def seeded(database: str, posts: int) -> dict[str, str]:
    """Create, migrate, seed (topping up) and vacuum ``database``; return the environment serving it."""
    env = bench_env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
        REPLICA_DATABASE_URLS=f"postgres://postgres@127.0.0.1:5433/{database}",
    )
    psql = ["psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres"]
    subprocess.run([*psql, "-d", "postgres", "-c", f"CREATE DATABASE {database}"], capture_output=True, check=False)
    manage("migrate", "--noinput", "-v", "0", env=env)
    log(f"seeding {database} to {posts:,} posts (tops up; a first run at millions takes many minutes)")
    manage("seed_demo", "--posts", str(posts), env=env)
    log(f"vacuuming and analysing {database}")
    subprocess.run([*psql, "-d", database, "-c", "VACUUM (ANALYZE) blog_post"], check=True)
    return env


def logged_in(base: str) -> urllib.request.OpenerDirector:
    """Log in to the admin as seed_demo's staff user; the session serves both admin sites."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = opener.open(base + "/admin/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, "no CSRF token on the admin log-in page"
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token.group(1), "username": "demo", "password": "demo-password", "next": "/admin/"}
    ).encode()
    page = opener.open(urllib.request.Request(base + "/admin/login/", data=data, headers={"Referer": base})).read()
    assert b"Site administration" in page, "could not log in to the admin as demo / demo-password"
    return opener


def timed_ms(opener: urllib.request.OpenerDirector, url: str) -> float:
    started = time.perf_counter()
    opener.open(url, timeout=120).read()
    return (time.perf_counter() - started) * 1000


def warm_up(opener: urllib.request.OpenerDirector, url: str) -> None:
    """Fetch ``url`` twice (caches, connections) and log the count the page shows."""
    for _ in range(2):
        page = opener.open(url, timeout=120).read().decode()
    shown = re.search(r'<p class="paginator">.*?([\w ,]+ posts)', page, re.S)
    log(f"  {url}: shows {shown.group(1).strip() if shown else '?'}")


def time_changelists(small_env: dict[str, str], big_env: dict[str, str], repeats: int) -> dict[str, dict[str, float]]:
    """Median milliseconds of every page on every admin, requests interleaved round by round.

    Both databases are served at once (one gunicorn worker each) and each round requests every
    page once, so a load spike on this shared machine slows all figures alike instead of one.
    """
    with contextlib.ExitStack() as stack:
        big_base = stack.enter_context(gunicorn(big_env, workers=1))
        small_base = stack.enter_context(gunicorn(small_env, workers=1))
        big_opener, small_opener = logged_in(big_base), logged_in(small_base)
        urls = {
            (admin, page): (opener, base + prefix + query)
            for admin, opener, base, prefix in [
                ("ours", big_opener, big_base, "/admin/blog/post/"),
                ("stock", big_opener, big_base, "/bench/stock-admin/blog/post/"),
                ("ours_10k", small_opener, small_base, "/admin/blog/post/"),
            ]
            for page, query in PAGES.items()
        }
        for opener, url in urls.values():
            warm_up(opener, url)
        times: dict[tuple[str, str], list[float]] = {key: [] for key in urls}
        for _ in range(repeats):
            for key, (opener, url) in urls.items():
                times[key].append(timed_ms(opener, url))
    results: dict[str, dict[str, float]] = {}
    for (admin, page), values in times.items():
        results.setdefault(admin, {})[page] = round(statistics.median(values), 2)
    return results


def main() -> None:
    rows = int(os.environ.get("ROWS", "5000000"))
    repeats = int(os.environ.get("REPEATS", "15"))
    if rows < SMALL_ROWS or repeats < 1:
        raise SystemExit(f"ROWS must be at least {SMALL_ROWS:,} and REPEATS at least 1.")
    small_env = seeded(f"{BENCH_DB}_10k", SMALL_ROWS)
    big_env = seeded(BENCH_DB, rows)
    log(f"timing {repeats} rounds at {rows:,} and {SMALL_ROWS:,} posts")
    medians = time_changelists(small_env, big_env, repeats)
    ours, stock, ours_small = medians["ours"], medians["stock"], medians["ours_10k"]
    speedup = {page: round(stock[page] / ours[page], 1) for page in PAGES}
    growth = {page: round(ours[page] / ours_small[page], 2) for page in PAGES}
    result: dict[str, Any] = {
        "rows": rows,
        "small_rows": SMALL_ROWS,
        "repeats": repeats,
        "ours_ms": ours,
        "stock_ms": stock,
        "ours_10k_ms": ours_small,
        "speedup": speedup,
        "growth": growth,
        "targets_met": {
            "growth": all(value <= GROWTH_MAX for value in growth.values()),
            "speedup": all(speedup[page] >= minimum for page, minimum in SPEEDUP_MIN.items()),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
