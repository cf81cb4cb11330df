#!/usr/bin/env python3
"""``/mailpit`` in the mailpit stand-in: run the server, or answer ``mailpit readyz`` (the healthcheck).

``readyz`` imports nothing beyond a socket: the healthcheck starts this file every few seconds and
must answer well inside its timeout on a busy machine. The server lives in ``server.py`` beside it.
"""

from __future__ import annotations

import os
import socket
import sys


def split_address(value: str, default_port: int) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "0.0.0.0", int(port or default_port)  # nosec B104 - a container listens on its own interfaces


def readyz() -> int:
    """Exit status 0 when the HTTP side answers /readyz with 200 (a plain socket: no imports)."""
    host, port = split_address(os.environ.get("MP_UI_BIND_ADDR", "0.0.0.0:8025"), 8025)
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # nosec B104 - compares, binds nothing
    try:
        with socket.create_connection((host, port), timeout=2) as connection:
            connection.sendall(f"GET /readyz HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            status_line = connection.makefile("rb").readline().decode(errors="replace")
    except OSError as error:
        print(f"mailpit readyz: {error}", file=sys.stderr)
        return 1
    return 0 if status_line.split()[1:2] == ["200"] else 1


if __name__ == "__main__":
    if sys.argv[1:] in (["readyz"], ["livez"]):
        sys.exit(readyz())
    if sys.argv[1:]:
        sys.exit(f"mailpit stand-in: unknown command {' '.join(sys.argv[1:])!r}; try readyz")
    sys.path.insert(0, "/usr/local/lib/mailpit")
    import server

    server.serve()
