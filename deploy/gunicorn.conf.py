"""gunicorn settings for the web service (compose) and the benchmarks; each knob reads the environment."""

from __future__ import annotations

import multiprocessing
import os

# Every process gunicorn starts serves web requests. Say so before anything loads the settings (the
# master does, in on_starting below), or they would be read as a "command": no statement_timeout,
# and connections named django-command, which the query killer never touches.
os.environ.setdefault("DJANGO_PROCESS_TYPE", "web")

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request slower than this is cut off; the query killer and statement_timeout stop its SQL.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
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

    directory = settings.PROMETHEUS_MULTIPROC_DIR  # loads the settings, which export the folder

    from project.monitoring.prometheus import remove_dead_process_files

    remove_dead_process_files(directory)
