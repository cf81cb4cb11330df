"""Read typed settings from the environment, refusing bad values instead of guessing.

Every helper raises ``ImproperlyConfigured`` naming the variable, so a typo in a deployment stops
start-up with a clear message rather than running with a surprising default.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    """Return the variable's value, stripped, or ``default`` when unset."""
    environ = os.environ if environ is None else environ
    return environ.get(name, default).strip()


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Return the variable as a boolean: 1/true/yes/on or 0/false/no/off."""
    environ = os.environ if environ is None else environ
    if name not in environ:
        return default
    value = environ[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/true/yes/on or 0/false/no/off, not {environ[name]!r}.")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Return the variable as an integer, at least ``minimum`` when given."""
    raw = env_str(name, environ=environ)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_float(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    """Return the variable as a number, at least ``minimum`` when given."""
    raw = env_str(name, environ=environ)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from None
    if value != value or (minimum is not None and value < minimum):  # NaN or below the floor
        raise ImproperlyConfigured(f"{name} must be a number of at least {minimum}, not {raw!r}.")
    return value


def env_list(name: str, default: list[str] | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Return a comma-separated variable as a list, dropping empty items."""
    raw = env_str(name, environ=environ)
    if not raw:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


_RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """Return a throttle rate such as ``60/min``: a positive count, a slash, and s/min/hour/day."""
    raw = env_str(name, default, environ=environ)
    count, sep, period = raw.partition("/")
    if not sep or not count.isdigit() or int(count) < 1 or period not in _RATE_PERIODS:
        raise ImproperlyConfigured(f"{name} must look like 60/min (a count per s, min, hour or day), not {raw!r}.")
    return raw


_DB_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}


def parse_database_url(name: str, url: str, *, base_dir: Path | None = None) -> dict[str, Any]:
    """Turn ``postgres://user:pass@host:port/db?opt=val`` or ``sqlite:///path`` into a DATABASES entry.

    Query parameters become connection OPTIONS (e.g. ``sslmode=require``). ``name`` is the variable
    the URL came from, used in error messages.
    """
    parts = urlsplit(url)
    engine = _DB_ENGINES.get(parts.scheme)
    if engine is None:
        raise ImproperlyConfigured(
            f"{name} must start with postgres://, postgresql:// or sqlite://, not {parts.scheme + '://' if parts.scheme else repr(url)}."
        )
    if engine.endswith("sqlite3"):
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise ImproperlyConfigured(f"{name} must name a file: sqlite:///relative/path or sqlite:////absolute/path.")
        file = Path(path)
        if not file.is_absolute() and base_dir is not None:
            file = base_dir / file
        return {"ENGINE": engine, "NAME": str(file)}
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ImproperlyConfigured(
            f"{name} must name one database after the host, e.g. postgres://user@host:5432/blog."
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a port that is not a number.") from None
    options: dict[str, Any] = dict(parse_qsl(parts.query))
    return {
        "ENGINE": engine,
        "NAME": database,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": options,
    }


def read_dotenv(path: Path) -> None:
    """Load ``KEY=value`` lines from ``path`` into the environment without overriding real variables."""
    if not path.is_file():
        return
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ImproperlyConfigured(f"{path}:{number} is not a KEY=value line.")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key.strip(), value)


def env_choice(name: str, default: str, choices: Collection[str], environ: Mapping[str, str] | None = None) -> str:
    """Return the variable if it is one of ``choices`` (compared in upper case), else refuse it."""
    raw = env_str(name, default, environ=environ).upper()
    if raw not in {choice.upper() for choice in choices}:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {raw!r}.")
    return raw


def env_networks(
    name: str, environ: Mapping[str, str] | None = None
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Return a comma-separated list of IP networks (``10.0.0.0/8``) or addresses (``192.0.2.7``)."""
    networks = []
    for item in env_list(name, environ=environ):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP networks or addresses such as 10.0.0.0/8, not {item!r}."
            ) from None
    return networks


def env_url_path(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """Return a URL path prefix such as ``admin/`` or ``ops/admin/``: letters, digits, - and _, ending in /."""
    raw = env_str(name, default, environ=environ)
    if not re.fullmatch(r"([A-Za-z0-9_-]+/)+", raw):
        raise ImproperlyConfigured(
            f"{name} must be a relative path of letters, digits, - and _ ending in /, e.g. admin/, not {raw!r}."
        )
    return raw
