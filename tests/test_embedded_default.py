"""`make run`'s embedded default, end to end: SQLite, the database cache, Celery's file broker.

Starts ``manage.py runall --prepare`` (what ``make run`` runs) with none of the service variables
set, browses the site as a newcomer would, logs in to the admin with the printed demo account,
and stops everything with one Ctrl-C (SIGINT).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import free_port, wait_until_serving

BASE_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def embedded_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    var_dir = tmp_path_factory.mktemp("var")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_", "CELERY_", "EMAIL_"))
    }
    env.update({"DJANGO_DEBUG": "1", "DJANGO_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "project.settings"})
    log = var_dir / "runall.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runall", "--prepare", f"127.0.0.1:{port}", "--concurrency", "1"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(
        base + "/healthz",
        process,
        timeout=120,
        describe=lambda: f"the embedded site did not start:\n{log.read_text()[-3000:]}",
    )
    yield base, process, log
    if process.poll() is None:
        process.kill()


def test_home_post_tag_author_and_api_pages_are_served(embedded_site: tuple[str, subprocess.Popen[str], Path]) -> None:
    base, _, _ = embedded_site
    home = urllib.request.urlopen(base + "/").read().decode()
    assert "Latest posts" in home
    post_path = re.search(r'href="(/posts/demo-\d+/)"', home)
    assert post_path, "the home page links to demo posts"
    post = urllib.request.urlopen(base + post_path.group(1)).read().decode()
    assert "Comments" in post and "Log in</a> to comment" in post
    tag_path = re.search(r'href="(/tags/[\w-]+/)"', home)
    assert tag_path
    assert "Posts tagged" in urllib.request.urlopen(base + tag_path.group(1)).read().decode()
    assert "Posts by" in urllib.request.urlopen(base + "/authors/author1/").read().decode()
    api = json.loads(
        urllib.request.urlopen(urllib.request.Request(base + "/api/v1/", headers={"Accept": "application/json"})).read()
    )
    assert set(api) >= {"posts", "tags"}
    # On SQLite the posts' tags come by prefetch rather than as PostgreSQL-built JSON: the same shape.
    posts = json.loads(urllib.request.urlopen(base + "/api/v1/posts/").read())["results"]
    assert posts and any(post["tags"] for post in posts)
    assert all(set(tag) == {"id", "name", "slug"} for post in posts for tag in post["tags"])
    assert urllib.request.urlopen(base + "/static/css/site.css").status == 200


def test_admin_log_in_with_the_printed_demo_account(embedded_site: tuple[str, subprocess.Popen[str], Path]) -> None:
    base, _, log = embedded_site
    printed = re.search(r"Log in to the admin as (\S+) / (\S+)", log.read_text())
    assert printed, "runall --prepare prints the demo staff log-in"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(base + "/admin/login/?next=/admin/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page)
    assert token
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": token.group(1),
            "username": printed.group(1),
            "password": printed.group(2),
            "next": "/admin/",
        }
    ).encode()
    admin_index = (
        opener.open(
            urllib.request.Request(
                base + "/admin/login/?next=/admin/", data=data, headers={"Referer": base + "/admin/login/"}
            )
        )
        .read()
        .decode()
    )
    assert "Site administration" in admin_index
    changelist = opener.open(base + "/admin/blog/post/").read().decode()
    assert "demo-" not in changelist or "Select post to change" in changelist
    # The Performance page works on the database cache: the admin pages just visited are on it.
    performance = opener.open(base + "/admin/performance/?window=5m").read().decode()
    assert "admin:blog_post_changelist" in performance and "<svg" in performance
    assert "# TYPE http_request_duration_seconds histogram" in opener.open(base + "/metrics").read().decode()


def test_readiness_checks_the_embedded_services_and_metrics_are_not_public(
    embedded_site: tuple[str, subprocess.Popen[str], Path],
) -> None:
    base, _, _ = embedded_site
    ready = json.loads(urllib.request.urlopen(base + "/readyz").read())
    assert ready["status"] == "ok", ready
    assert set(ready["checks"]) == {"primary", "cache", "broker"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/metrics")
    assert refused.value.code == 403


def test_worker_and_beat_run_and_one_interrupt_stops_all(
    embedded_site: tuple[str, subprocess.Popen[str], Path],
) -> None:
    _, process, log = embedded_site
    deadline = time.monotonic() + 60
    while not ("ready." in log.read_text() and "beat: Starting" in log.read_text()):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 3  # web, worker, beat
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    time.sleep(0.5)
    alive = [
        pid
        for pid in children
        if Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
    ]
    assert alive == []
    # Everything the embedded default writes stays in DJANGO_VAR_DIR (kombu's default ./control did not).
    assert not (BASE_DIR / "control").exists()
