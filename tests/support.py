"""Helpers for tests that wait on real processes: replication, workers, servers they start."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy (replication, workers); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {predicate}")
        time.sleep(interval)


def free_port() -> int:
    """Return a loopback port nothing listens on now (a server may take it; a client finds it closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(
    url: str, process: subprocess.Popen[Any], *, timeout: float, describe: Callable[[], str]
) -> None:
    """Poll ``url`` until it answers; kill ``process`` and fail with ``describe()`` if it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):  # TimeoutError: workers still booting
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(describe())
            time.sleep(0.2)
