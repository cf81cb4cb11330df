"""Production settings: deploy/production.env.example passes `check --deploy`, and bad values stop start-up.

CI runs the first test through `make test`: the documented production environment must pass
Django's deployment checks with no warning at all.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[1]
EXAMPLE = BASE_DIR / "deploy" / "production.env.example"


def production_environment(tmp_path: Path) -> dict[str, str]:
    """The example file's variables, each ``<placeholder>`` filled in as an operator would."""
    values: dict[str, str] = {}
    for line in EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = re.sub(r"<[^>@]*>", lambda _: secrets.token_urlsafe(48).replace("-", "x"), value)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_", "CELERY_", "EMAIL_", "MONITORING_"))
    }
    return {**clean, **values, "DJANGO_SETTINGS_MODULE": "project.settings", "DJANGO_VAR_DIR": str(tmp_path)}


def test_the_documented_production_environment_passes_check_deploy(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_its_tls_settings_check_deploy_fails(tmp_path: Path) -> None:
    # The check is not vacuous: the README's plain production environment (no HSTS, no redirect) fails.
    env = production_environment(tmp_path)
    for name in ("DJANGO_SECURE_HSTS_SECONDS", "DJANGO_SECURE_SSL_REDIRECT"):
        del env[name]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_every_placeholder_in_the_example_is_refused_if_left_unfilled(tmp_path: Path) -> None:
    env = production_environment(tmp_path)
    env["DJANGO_SECRET_KEY"] = "<a-long-random-secret>"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "DJANGO_SECRET_KEY is still the placeholder" in result.stderr
    env["DJANGO_SECRET_KEY"], env["DJANGO_ADMIN_PATH"] = "x" * 60, "<staff-only>/"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "DJANGO_ADMIN_PATH must be a relative path" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GUNICORN_WORKERS", "many", "GUNICORN_WORKERS must be an integer, not 'many'."),
        ("GUNICORN_WORKERS", "0", "GUNICORN_WORKERS must be at least 1, not 0."),
        ("GUNICORN_THREADS", "1.5", "GUNICORN_THREADS must be an integer"),
        ("GUNICORN_TIMEOUT", "-3", "GUNICORN_TIMEOUT must be at least 1"),
        ("GUNICORN_MAX_REQUESTS", "lots", "GUNICORN_MAX_REQUESTS must be an integer"),
        ("GUNICORN_BIND", "port 8000", "GUNICORN_BIND must be host:port"),
        ("DJANGO_LOG_LEVEL", "loud", "DJANGO_LOG_LEVEL must be one of"),
    ],
)
def test_gunicorn_refuses_a_bad_variable_with_exit_2_and_one_line(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = {**production_environment(tmp_path), "GUNICORN_BIND": "127.0.0.1:0", variable: value}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "project.wsgi"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert f"Configuration error: {message}" in result.stderr
    assert "Traceback" not in result.stderr
