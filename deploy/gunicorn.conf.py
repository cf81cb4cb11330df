"""gunicorn settings for the web service (compose) and the benchmarks; each knob reads the environment."""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from typing import NoReturn

# Every process gunicorn starts serves web requests. Say so before anything loads the settings (the
# master does, in on_starting below), or they would be read as a "command": no statement_timeout,
# and connections named django-command, which the query killer never touches.
os.environ.setdefault("DJANGO_PROCESS_TYPE", "web")


def _refuse(message: str) -> NoReturn:
    # The same one-line error and exit status as manage.py's for a bad variable, not a traceback.
    sys.stderr.write(f"Configuration error: {message}\n")
    sys.exit(2)


def _int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"-?[0-9]+", raw):
        _refuse(f"{name} must be an integer, not {raw!r}.")
    if int(raw) < minimum:
        _refuse(f"{name} must be at least {minimum}, not {raw}.")
    return int(raw)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").strip()
if not re.fullmatch(r"(unix:.+|\[[0-9a-fA-F:.]+\]:[0-9]+|[A-Za-z0-9.-]*:[0-9]+)", bind):
    _refuse(f"GUNICORN_BIND must be host:port, [ipv6]:port or unix:/path, not {bind!r}.")
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1, minimum=1)
threads = _int("GUNICORN_THREADS", 1, minimum=1)
# A request slower than this is cut off; the query killer and statement_timeout stop its SQL.
timeout = _int("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound (0 = never).
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket (for `gunicornc`) is off unless GUNICORN_CONTROL_SOCKET names a path,
# e.g. var/gunicorn.ctl (var/ is the image's one writable folder): its default is in the home
# directory, which the image's user cannot write, and two servers on one machine would share it.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def on_starting(server: object) -> None:
    """Load the settings in the master, so every worker inherits PROMETHEUS_MULTIPROC_DIR, and drop the
    metrics files of a previous run's processes so /metrics starts this run from zero."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        directory = settings.PROMETHEUS_MULTIPROC_DIR  # loads the settings, which export the folder
    except ImproperlyConfigured as exc:  # a bad Django variable stops the master before any worker
        _refuse(str(exc))

    from project.monitoring.prometheus import remove_dead_process_files

    remove_dead_process_files(directory)
