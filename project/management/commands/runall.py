"""Run the web server, a Celery worker and Celery beat together; one Ctrl-C stops all three.

This is what ``make run`` starts. In production each runs as its own service (see
docker-compose.yml); here one terminal is enough.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


def address(value: str) -> str:
    _host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return value


class Command(BaseCommand):
    help = "Run the development web server, a Celery worker and Celery beat in one terminal."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport", nargs="?", type=address, default="127.0.0.1:8000", help="HOST:PORT for the web server"
        )
        parser.add_argument(
            "--concurrency", type=int, default=2, choices=range(1, 17), metavar="1-16", help="worker processes"
        )
        parser.add_argument(
            "--prepare",
            action="store_true",
            help="first migrate, create the cache table and seed demo data if the database is empty",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["prepare"]:
            call_command("migrate", interactive=False, verbosity=1)
            call_command("createcachetable")
            if settings.DEBUG:  # seed_demo refuses a site with debug off unless told explicitly
                call_command("seed_demo", if_empty=True)
        # Web, worker and beat add their metrics up in one folder; a previous run's files go first.
        from project.monitoring.prometheus import remove_dead_process_files

        remove_dead_process_files(settings.PROMETHEUS_MULTIPROC_DIR)
        python = sys.executable
        commands = {
            "web": [python, "manage.py", "runserver", options["addrport"]],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "project",
                "worker",
                "-l",
                "info",
                "-Q",
                "celery,querykiller",
                "-c",
                str(options["concurrency"]),
            ],
            "beat": [python, "-m", "celery", "-A", "project", "beat", "-l", "info"],
        }
        # Each child says what it is, for its database timeouts and application_name.
        processes = {
            name: subprocess.Popen(command, env={**os.environ, "DJANGO_PROCESS_TYPE": name})
            for name, command in commands.items()
        }
        self.stdout.write(f"Started {', '.join(f'{n} (pid {p.pid})' for n, p in processes.items())}. Ctrl-C stops all.")

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while not stopping:
            for name, process in processes.items():
                code = process.poll()
                if code is not None:
                    self.stderr.write(f"{name} exited with status {code}; stopping the others.")
                    exit_code = code or 1
                    stopping = True
                    break
            time.sleep(0.2)
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in processes.values():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
        if exit_code:
            sys.exit(exit_code)
