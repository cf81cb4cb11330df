"""deploy/stack.yml and deploy/env-from-files.sh, checked without a Docker engine.

`make test-swarm` deploys the stack on a real swarm; these tests check what it must keep true
wherever it runs: it is docker-compose.yml's topology (same images, commands, health checks), every
service is reached by DNS round robin and nginx's port is published in host mode (no IPVS), no
secret is written in it, web and worker roll start-first with rollback, beat is one, the stateful
services are pinned, and the wrapper turns secret files into variables and waits, as it says.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compose import BASE_DIR, django_services, interpolate, load_compose
from tests.test_compose import deploy_variables, settings_variables

STACK_FILE = BASE_DIR / "deploy" / "stack.yml"
WRAPPER = BASE_DIR / "deploy" / "env-from-files.sh"
STATEFUL = ("postgres-primary", "postgres-replica", "redis-cache", "redis-broker")
# What deploy/env-from-files.sh reads; everything else given to Django must be read by the code.
WRAPPER_VARIABLES = {"FROM_FILES", "WAIT_FOR", "WAIT_FOR_SECONDS"}


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    loaded: dict[str, Any] = interpolate(yaml.safe_load(STACK_FILE.read_text()))
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def test_the_stack_is_the_compose_topology_without_the_optional_profile(
    stack: dict[str, Any], compose: dict[str, Any]
) -> None:
    expected = {name for name, service in compose["services"].items() if not service.get("profiles")}
    assert set(stack["services"]) == expected
    for name, service in stack["services"].items():
        theirs = compose["services"][name]
        assert service["image"] == theirs["image"], name
        # The same checks; their timing is the stack's own (a failing task is replaced in swarm).
        check, their_check = service["healthcheck"]["test"], theirs["healthcheck"]["test"]
        if name in ("worker", "beat"):  # Celery loads the settings: the check needs the secrets too
            assert check[:5] == ["CMD", "deploy/env-from-files.sh", "sh", "-c", their_check[1]], name
            assert their_check[0] == "CMD-SHELL"
        else:
            assert check == their_check, name
        if "command" in theirs:
            assert service["command"] == theirs["command"], name
    # A check that outlives a busy node's exec start-up is not a failure.
    assert all(int(s["healthcheck"]["timeout"].rstrip("s")) >= 30 for s in stack["services"].values())


def test_every_service_is_reached_by_dns_round_robin_and_only_nginx_publishes_in_host_mode(
    stack: dict[str, Any],
) -> None:
    for name, service in stack["services"].items():
        assert service["deploy"]["endpoint_mode"] == "dnsrr", f"{name}: a virtual IP needs IPVS"
        assert service["networks"] == ["backend"], name
    published = {name: service["ports"] for name, service in stack["services"].items() if "ports" in service}
    assert list(published) == ["nginx"]
    assert [port["mode"] for port in published["nginx"]] == ["host"], "the routing mesh needs IPVS too"
    assert stack["services"]["nginx"]["deploy"]["mode"] == "global", "one host port, one task per node"
    nginx = stack["services"]["nginx"]["environment"]
    assert nginx["WEB_UPSTREAM"] == "web:8000"
    assert nginx["NGINX_RESOLVER"] == "127.0.0.11", "nginx re-resolves web through Docker's DNS"
    assert stack["networks"]["backend"]["driver"] == "overlay"


def test_no_secret_is_written_in_the_stack(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        env = service.get("environment", {})
        for variable, value in env.items():
            secretive = any(word in variable for word in ("SECRET_KEY", "PASSWORD", "DATABASE_URL"))
            if secretive:
                assert variable.endswith("_FILE"), f"{name}: {variable} is a value, not a file"
                assert value.startswith("/run/secrets/"), f"{name}: {variable}"
                assert value.removeprefix("/run/secrets/") in service["secrets"], f"{name}: {variable}"
        # Every file the wrapper must read is named, and every name has its file.
        wrapped = set(env.get("FROM_FILES", "").split())
        files = {variable.removesuffix("_FILE") for variable in env if variable.endswith("_FILE")}
        assert wrapped == files - {"POSTGRES_PASSWORD"}, name  # the postgres image reads that one itself
        if wrapped:
            assert "env-from-files.sh" in service["entrypoint"][0], name
    assert all(secret == {"external": True} for secret in stack["secrets"].values())


def test_django_services_get_what_the_code_reads_and_wait_for_what_they_need(stack: dict[str, Any]) -> None:
    settings = (BASE_DIR / "project" / "settings.py").read_text()
    known = settings_variables() | deploy_variables() | set(re.findall(r'env_rate\(\s*"([A-Z0-9_]+)"', settings))
    for name in ("web", "worker", "beat"):
        env = stack["services"][name]["environment"]
        given = {variable.removesuffix("_FILE") for variable in env} - WRAPPER_VARIABLES
        assert given - known == set(), name
        assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "REPLICA_DATABASE_URLS", "REDIS_URL", "CELERY_BROKER_URL"} <= given
        for address in env["WAIT_FOR"].split():
            host, port = address.rsplit(":", 1)
            assert host in stack["services"] and port.isdigit(), address
    assert stack["services"]["worker"]["environment"]["DJANGO_PROCESS_TYPE"] == "worker"
    assert stack["services"]["beat"]["environment"]["DJANGO_PROCESS_TYPE"] == "beat"


def test_web_and_worker_roll_start_first_on_health_and_roll_back(stack: dict[str, Any]) -> None:
    for name in ("web", "worker"):
        service = stack["services"][name]
        update, rollback = service["deploy"]["update_config"], service["deploy"]["rollback_config"]
        assert (update["order"], update["failure_action"], update["parallelism"]) == ("start-first", "rollback", 1)
        assert rollback["order"] == "start-first"
        assert service["healthcheck"]["test"], "an update waits for the new task's health"
    web = stack["services"]["web"]
    # The old task leaves the rotation only after the new one is healthy; gunicorn then drains.
    assert int(web["stop_grace_period"].rstrip("s")) > 20


def test_beat_is_exactly_one_and_replaced_stop_first(stack: dict[str, Any]) -> None:
    beat = stack["services"]["beat"]["deploy"]
    assert beat["replicas"] == 1
    assert beat["update_config"]["order"] == beat["rollback_config"]["order"] == "stop-first"


def test_stateful_services_are_pinned_to_labelled_nodes_with_their_volumes(stack: dict[str, Any]) -> None:
    for name in STATEFUL:
        service = stack["services"][name]
        assert service["deploy"]["placement"]["constraints"] == [f"node.labels.django-at-scale.{name} == true"]
        assert any(volume.startswith(f"{name}:") for volume in service["volumes"]), name
    for config in stack["configs"].values():
        assert (STACK_FILE.parent / config["file"]).is_file(), config


def test_the_swarm_test_labels_and_secrets_match_the_stack(stack: dict[str, Any]) -> None:
    from tests import swarm

    assert {f"django-at-scale.{label}" for label in swarm.NODE_LABELS} == {
        service["deploy"]["placement"]["constraints"][0].split(" ")[0].removeprefix("node.labels.")
        for name, service in stack["services"].items()
        if name in STATEFUL
    }
    assert set(swarm.SECRET_NAMES) == set(stack["secrets"])
    assert set(django_services(load_compose())) == {"web", "worker", "beat"}


# --- deploy/env-from-files.sh, run natively --------------------------------------------------------


def run_wrapper(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(
        [str(WRAPPER), *command], env=environment, capture_output=True, text=True, timeout=30, check=False
    )


def test_wrapper_exports_each_secret_file_as_its_variable_and_drops_the_file_variable(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret value")
    result = run_wrapper(
        {"FROM_FILES": "DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FILE": str(secret)},
        "sh",
        "-c",
        'printf "%s|%s" "$DJANGO_SECRET_KEY" "${DJANGO_SECRET_KEY_FILE-unset}"',
    )
    assert (result.returncode, result.stdout) == (0, "s3cret value|unset")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FROM_FILES": "X"}, "X_FILE is not set"),
        ({"FROM_FILES": "X", "X_FILE": "/nonexistent"}, "not a readable file"),
        ({"FROM_FILES": "X", "X_FILE": "/etc/hostname", "X": "also"}, "set one"),
        ({"WAIT_FOR": "postgres"}, "host:port"),
        ({"WAIT_FOR_SECONDS": "soon"}, "number of seconds"),
    ],
)
def test_wrapper_refuses_bad_settings_with_a_clear_error(env: dict[str, str], message: str) -> None:
    result = run_wrapper(env, "true")
    assert result.returncode == 2
    assert message in result.stderr


def test_wrapper_waits_for_a_port_then_runs_the_command_and_gives_up_in_time() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run_wrapper({"WAIT_FOR": f"127.0.0.1:{port}"}, "echo", "started")
        assert (result.returncode, result.stdout) == (0, "started\n")
    result = run_wrapper({"WAIT_FOR": f"127.0.0.1:{port}", "WAIT_FOR_SECONDS": "2"}, "echo", "started")
    assert result.returncode == 1
    assert "did not accept a connection in 2s" in result.stderr
    assert result.stdout == ""
