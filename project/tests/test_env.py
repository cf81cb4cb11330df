"""The environment helpers and the settings module's refusal of bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, env_float, env_int, env_list, parse_database_url, read_dotenv

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "value"), [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False), ("", False)]
)
def test_env_bool_reads_common_spellings(raw: str, value: bool) -> None:
    assert env_bool("FLAG", environ={"FLAG": raw}) is value


def test_env_bool_default_and_refusal() -> None:
    assert env_bool("FLAG", True, environ={}) is True
    with pytest.raises(ImproperlyConfigured, match="FLAG must be one of"):
        env_bool("FLAG", environ={"FLAG": "maybe"})


def test_env_int_and_float() -> None:
    assert env_int("N", 3, environ={}) == 3
    assert env_int("N", 3, environ={"N": " 7 "}) == 7
    with pytest.raises(ImproperlyConfigured, match="N must be an integer, not 'x'"):
        env_int("N", 3, environ={"N": "x"})
    with pytest.raises(ImproperlyConfigured, match="N must be at least 1"):
        env_int("N", 3, minimum=1, environ={"N": "0"})
    assert env_float("F", 1.5, environ={"F": "2.5"}) == 2.5
    with pytest.raises(ImproperlyConfigured, match="F must be a number"):
        env_float("F", 1.0, minimum=0, environ={"F": "nan"})


def test_env_list_drops_empty_items() -> None:
    assert env_list("L", environ={"L": "a, b,,c "}) == ["a", "b", "c"]
    assert env_list("L", ["x"], environ={}) == ["x"]


def test_parse_postgres_url_with_options() -> None:
    config = parse_database_url("DATABASE_URL", "postgres://ada:p%40ss@db.internal:6432/blog?sslmode=require")
    assert config == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "blog",
        "USER": "ada",
        "PASSWORD": "p@ss",
        "HOST": "db.internal",
        "PORT": "6432",
        "OPTIONS": {"sslmode": "require"},
    }


def test_parse_sqlite_url_relative_and_absolute(tmp_path: Path) -> None:
    assert parse_database_url("D", "sqlite:///var/db.sqlite3", base_dir=tmp_path)["NAME"] == str(
        tmp_path / "var/db.sqlite3"
    )
    assert parse_database_url("D", "sqlite:////srv/blog/x.db")["NAME"] == "/srv/blog/x.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/blog", "must start with postgres://"),
        ("localhost:5432", "must start with postgres://"),
        ("postgres://localhost:5432/", "must name one database"),
        ("postgres://localhost:port/blog", "port that is not a number"),
        ("sqlite://", "must name a file"),
    ],
)
def test_parse_database_url_refuses_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_database_url("DATABASE_URL", url)


def test_read_dotenv_does_not_override_real_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nDOTENV_A=from-file\nexport DOTENV_B='quoted value'\nDOTENV_C=file\n")
    monkeypatch.setenv("DOTENV_C", "real")
    monkeypatch.delenv("DOTENV_A", raising=False)
    monkeypatch.delenv("DOTENV_B", raising=False)
    read_dotenv(env_file)
    assert (os.environ["DOTENV_A"], os.environ["DOTENV_B"], os.environ["DOTENV_C"]) == (
        "from-file",
        "quoted value",
        "real",
    )
    env_file.write_text("not a pair\n")
    with pytest.raises(ImproperlyConfigured, match=r"\.env:1 is not a KEY=value line"):
        read_dotenv(env_file)


def run_check(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py check`` with the real settings and only ``env`` set (no .env file, no test defaults)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_", "CELERY_", "EMAIL_"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "project.settings", "DJANGO_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


PRODUCTION = {"DJANGO_SECRET_KEY": "s3cret-for-this-test", "DJANGO_ALLOWED_HOSTS": "blog.example.com"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_ALLOWED_HOSTS": "blog.example.com"}, "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off"),
        ({"DJANGO_SECRET_KEY": "x"}, "DJANGO_ALLOWED_HOSTS must list"),
        ({**PRODUCTION, "DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG must be one of"),
        ({**PRODUCTION, "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL must start with postgres://"),
        (
            {**PRODUCTION, "REPLICA_DATABASE_URLS": "postgres://h/db"},
            "REPLICA_DATABASE_URLS needs DATABASE_URL to be a PostgreSQL",
        ),
        ({**PRODUCTION, "REDIS_URL": "localhost:6379"}, "REDIS_URL must start with redis://"),
        ({**PRODUCTION, "CELERY_BROKER_URL": "amqp://x"}, "CELERY_BROKER_URL must start with"),
        ({**PRODUCTION, "EMAIL_PORT": "smtp"}, "EMAIL_PORT must be an integer"),
        ({**PRODUCTION, "DJANGO_ADMINS": "ops"}, "DJANGO_ADMINS must be 'Name <email>'"),
        ({**PRODUCTION, "DATABASE_POOL_MAX_SIZE": "0"}, "DATABASE_POOL_MAX_SIZE must be at least 1"),
        ({**PRODUCTION, "APPROX_COUNT_THRESHOLD": "0"}, "APPROX_COUNT_THRESHOLD must be at least 1"),
        ({**PRODUCTION, "APPROX_COUNT_THRESHOLD": "many"}, "APPROX_COUNT_THRESHOLD must be an integer"),
        (
            {**PRODUCTION, "MONITORING_METRICS_ALLOWED_NETWORKS": "junk"},
            "MONITORING_METRICS_ALLOWED_NETWORKS must list",
        ),
        ({**PRODUCTION, "DJANGO_LOG_LEVEL": "loud"}, "DJANGO_LOG_LEVEL must be one of"),
        ({**PRODUCTION, "TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT must be at least 0"),
        ({**PRODUCTION, "DJANGO_ADMIN_PATH": "/admin"}, "DJANGO_ADMIN_PATH must be a relative path"),
        ({**PRODUCTION, "DJANGO_SECURE_HSTS_SECONDS": "year"}, "DJANGO_SECURE_HSTS_SECONDS must be an integer"),
        ({**PRODUCTION, "LOGIN_LIMIT_USERNAME_FAILURES": "0"}, "LOGIN_LIMIT_USERNAME_FAILURES must be at least 1"),
        ({**PRODUCTION, "API_TOKEN_MAX_AGE_SECONDS": "soon"}, "API_TOKEN_MAX_AGE_SECONDS must be an integer"),
        (
            {**PRODUCTION, "DJANGO_SECRET_KEY": "<a-long-random-secret>"},
            "DJANGO_SECRET_KEY is still the placeholder",
        ),
    ],
)
def test_settings_refuse_bad_values_naming_the_variable(env: dict[str, str], message: str, tmp_path: Path) -> None:
    result = run_check(env, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_accept_a_production_environment(tmp_path: Path) -> None:
    result = run_check(PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr


def test_debug_toolbar_is_never_loaded_with_debug_off(tmp_path: Path) -> None:
    code = "import django; django.setup(); from django.conf import settings; import sys; print(settings.DEBUG_TOOLBAR, 'debug_toolbar' in sys.modules)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base = {**clean, "DJANGO_SETTINGS_MODULE": "project.settings", "DJANGO_VAR_DIR": str(tmp_path)}
    off = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**base, **PRODUCTION},
        capture_output=True,
        text=True,
        check=True,
    )
    on = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**base, "DJANGO_DEBUG": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert off.stdout.split() == ["False", "False"]
    assert on.stdout.split() == ["True", "True"]


def test_env_example_lists_every_variable_the_settings_read() -> None:
    import re

    read = set(
        re.findall(
            r'env_(?:str|bool|int|float|list|choice|networks|url_path)\(\s*"([A-Z_]+)"',
            (BASE_DIR / "project" / "settings.py").read_text(),
        )
    )
    documented = set(re.findall(r"^#? ?([A-Z][A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.MULTILINE))
    assert read, "the settings read variables through the env helpers"
    assert read - documented == set()
