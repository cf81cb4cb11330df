"""The deployment files' security decisions: compose's demo switch and loopback-only tools, nginx's
X-Forwarded-For, and the web entrypoint refusing compose's public laptop secret on a real host."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.compose import load_compose

BASE_DIR = Path(__file__).resolve().parents[1]
LAPTOP_SECRET = "compose-local-only-secret-do-not-deploy"


def test_compose_reads_seed_demo_on_first_start_from_the_environment() -> None:
    assert load_compose({})["services"]["web"]["environment"]["SEED_DEMO_ON_FIRST_START"] == "1"
    off = load_compose({"SEED_DEMO_ON_FIRST_START": "0"})
    assert off["services"]["web"]["environment"]["SEED_DEMO_ON_FIRST_START"] == "0"


@pytest.mark.parametrize("service", ["mailpit", "flower"])
def test_development_tools_are_published_on_loopback_only(service: str) -> None:
    ports = load_compose({})["services"][service]["ports"]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports)


def test_compose_trusts_exactly_one_proxy_and_nginx_overwrites_x_forwarded_for() -> None:
    compose = load_compose({})
    for name in ("web", "worker", "beat"):
        assert compose["services"][name]["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    template = (BASE_DIR / "deploy" / "nginx" / "default.conf.template").read_text()
    assert re.findall(r"proxy_set_header X-Forwarded-For (\S+);", template) == ["$remote_addr"]


def run_entrypoint(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SEED_"))}
    # An invalid seed switch stops the script right after the secret check, before any database work.
    return subprocess.run(
        ["sh", str(BASE_DIR / "deploy" / "web-entrypoint.sh")],
        env={**clean, "SEED_DEMO_ON_FIRST_START": "stop-here", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_entrypoint_refuses_the_laptop_secret_for_a_public_host_with_debug_off() -> None:
    result = run_entrypoint(DJANGO_SECRET_KEY=LAPTOP_SECRET, DJANGO_ALLOWED_HOSTS="localhost,blog.example.com")
    assert result.returncode == 2
    assert "compose's public laptop secret and DJANGO_ALLOWED_HOSTS names 'blog.example.com'" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"DJANGO_SECRET_KEY": LAPTOP_SECRET, "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1"},  # docker compose up
        {"DJANGO_SECRET_KEY": LAPTOP_SECRET, "DJANGO_ALLOWED_HOSTS": "blog.example.com", "DJANGO_DEBUG": "1"},
        {"DJANGO_SECRET_KEY": "a-real-secret", "DJANGO_ALLOWED_HOSTS": "blog.example.com"},
    ],
)
def test_the_entrypoint_accepts_a_laptop_a_debug_site_or_a_real_secret(env: dict[str, str]) -> None:
    result = run_entrypoint(**env)
    assert "SEED_DEMO_ON_FIRST_START must be 0 or 1, not 'stop-here'" in result.stderr  # got past the check
    assert "laptop secret" not in result.stderr
