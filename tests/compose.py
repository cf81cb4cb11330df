"""Read docker-compose.yml the way ``docker compose`` does, for tests that have no Docker engine.

``interpolate`` resolves ``${NAME:-default}`` from a given environment (an empty one gives the
defaults a fresh clone runs with) and turns ``$$`` back into ``$``, as Compose does before it
starts anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

BASE_DIR = Path(__file__).resolve().parents[1]
COMPOSE_FILE = BASE_DIR / "docker-compose.yml"
DJANGO_IMAGE = "django-at-scale:local"

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


def interpolate(value: Any, environ: dict[str, str] | None = None) -> Any:
    """Resolve Compose's ``${NAME}``, ``${NAME:-default}`` and ``$$`` in every string of ``value``."""
    environ = environ or {}
    if isinstance(value, dict):
        return {key: interpolate(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, environ) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, default = match.group("name"), match.group("op"), match.group("default") or ""
        current = environ.get(name)
        if op in (":-", ":?"):
            current = current or None
        if current is None:
            if op and op.endswith("?"):
                raise ValueError(f"{name} is required by docker-compose.yml")
            return default
        return current

    return _VARIABLE.sub(replace, value)


def load_compose(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return docker-compose.yml with YAML anchors merged and variables interpolated."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    return dict(interpolate(raw, environ))


def django_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the services that run the application image (web, worker, beat)."""
    return {name: service for name, service in compose["services"].items() if service.get("image") == DJANGO_IMAGE}


def healthcheck_shell(test: list[str]) -> list[str]:
    """Turn a healthcheck ``test`` into the argv Docker runs (CMD-SHELL goes through ``/bin/sh -c``)."""
    kind, *command = test
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", command[0]]
    assert kind == "CMD", f"unexpected healthcheck form {kind!r}"
    return command
