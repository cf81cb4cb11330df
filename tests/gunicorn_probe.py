"""The site's WSGI application plus one URL that reports the database session a worker opened.

Only for tests/test_gunicorn_process_type.py: gunicorn serves ``tests.gunicorn_probe:application``
with ``deploy/gunicorn.conf.py``, exactly as it serves ``project.wsgi``, and the test reads back
the application_name and statement_timeout the worker's own connection carries, and its server pid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from project.wsgi import application as site

PROBE_PATH = "/__probe__/session"


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer the probe URL from the worker's default connection; pass everything else to the site."""
    if environ.get("PATH_INFO") != PROBE_PATH:
        return site(environ, start_response)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('application_name'), current_setting('statement_timeout'), pg_backend_pid()"
        )
        application_name, statement_timeout, pid = cursor.fetchone()
    session = {"application_name": application_name, "statement_timeout": statement_timeout, "pid": pid}
    body = json.dumps(session).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
