"""/metrics under real gunicorn with two workers: one scrape shows every worker's requests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import free_port, wait_until_serving

BASE_DIR = Path(__file__).resolve().parents[1]
TOKEN = "gunicorn-test-token"


@pytest.fixture
def gunicorn_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    metrics_dir = tmp_path / "metrics"
    host_dir = metrics_dir / socket.gethostname()
    host_dir.mkdir(parents=True)
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    (host_dir / f"histogram_{finished.pid}.db").write_bytes(b"left by a previous run")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_", "MONITORING_"))},
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_SECRET_KEY": "gunicorn-test-secret",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_MANIFEST": "0",
        "DJANGO_VAR_DIR": str(tmp_path / "var"),
        "MONITORING_METRICS_DIR": str(metrics_dir),
        "MONITORING_METRICS_TOKEN": TOKEN,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_ACCESSLOG": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "project.wsgi"],
        cwd=BASE_DIR,
        env=env,
        # A file, not a pipe nobody reads: a chatty server would fill the pipe and hang.
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "gunicorn.log").open("w"),
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(
        base + "/healthz",
        process,
        timeout=60,
        describe=lambda: f"gunicorn did not start:\n{(tmp_path / 'gunicorn.log').read_text()[-3000:]}",
    )
    yield base, host_dir
    process.terminate()
    process.wait(timeout=30)


def scrape(base: str) -> dict[str, float]:
    request = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    text = urllib.request.urlopen(request, timeout=10).read().decode()
    return {
        line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_one_scrape_adds_up_both_workers_and_a_previous_run_is_cleared(gunicorn_site: tuple[str, Path]) -> None:
    base, host_dir = gunicorn_site
    # gunicorn's master removed the file of a process from a previous run before starting workers.
    assert not [path for path in host_dir.iterdir() if path.read_bytes() == b"left by a previous run"]
    # Eight at a time until both workers have served some: on a busy machine the second worker may
    # still be importing Django when the first answers, and one worker can drain a burst alone.
    sent, deadline = 0, time.monotonic() + 30
    with ThreadPoolExecutor(max_workers=8) as pool:
        while len({p.stem.rpartition("_")[2] for p in host_dir.glob("histogram_*.db")}) < 2:
            assert time.monotonic() < deadline, "the second worker never served a request"
            list(pool.map(lambda _: urllib.request.urlopen(base + "/healthz", timeout=10).read(), range(40)))
            sent += 40
    # The probe above and every request sent. A scrape is served by one worker and counts both; the
    # other worker hands over its last second's totals within a second.
    key = 'http_request_duration_seconds_count{method="GET",route="healthz",status="2xx"}'
    deadline = time.monotonic() + 3
    while scrape(base).get(key) != sent + 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert scrape(base)[key] == sent + 1
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/metrics", timeout=10)
    assert refused.value.code == 403
