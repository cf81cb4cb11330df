"""The containers' scripts and commands, run natively: what `docker compose up` would run, minus Docker.

- deploy/postgres/primary-init.sh and replica-entrypoint.sh, against a throwaway PostgreSQL 15
  primary started here (ports 5440-5441, removed afterwards), produce a real streaming replica.
- deploy/web-entrypoint.sh, started twice at once on an empty database (``--scale web=2``),
  migrates once, seeds once, and both gunicorns serve the site.
- The worker and beat commands from docker-compose.yml start, answer their healthchecks, and the
  worker runs a task from each queue it is told to consume.

Each reads its command, arguments and environment from docker-compose.yml, swapping only the
container host names for the local test services.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.compose import BASE_DIR, healthcheck_shell, load_compose
from tests.support import free_port, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PRIMARY_PORT, REPLICA_PORT = 5440, 5441
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def run(command: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False, **kwargs)


def sql(port: int, socket_dir: Path, query: str, database: str = "blog") -> str:
    result = run(
        [
            "psql",
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(socket_dir),
            "-p",
            str(port),
            "-U",
            "blog",
            "-d",
            database,
            "-c",
            query,
        ]
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# --- PostgreSQL primary + streaming replica ----------------------------------------------------


@pytest.fixture
def pg_dir() -> Iterator[Path]:
    if not (PG_BIN / "postgres").exists():
        pytest.fail(f"PostgreSQL 15 server binaries are needed in {PG_BIN} (Debian: postgresql-15)")
    for port in (PRIMARY_PORT, REPLICA_PORT):
        assert port_is_free(port), f"port {port} is taken: a previous run left a server behind?"
    # The postgres user must reach it, so not under pytest's private tmp directory.
    directory = Path(tempfile.mkdtemp(prefix="compose-pg-", dir="/var/tmp"))
    directory.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    yield directory
    for data in ("replica", "primary"):
        if (directory / data / "postmaster.pid").exists():
            run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(directory / data), "-m", "immediate", "-w", "stop"]))
    shutil.rmtree(directory, ignore_errors=True)


def start_primary(compose: dict[str, Any], directory: Path) -> dict[str, str]:
    """Do what the official image does for postgres-primary: initdb, then the init scripts."""
    service = compose["services"]["postgres-primary"]
    env = service["environment"]
    data = directory / "primary"
    init = run(as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", env["POSTGRES_USER"], "--auth=trust"]))
    assert init.returncode == 0, init.stderr
    # The image's pg_hba.conf less initdb's loopback replication lines: trust inside the container,
    # passwords from elsewhere, and "all" databases, which does not cover replication. So the
    # replica's connection is allowed by the init script's line or not at all.
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all all scram-sha-256\n"
    )
    options = " ".join(service["command"][1:])
    started = run(
        as_postgres(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(directory / "primary.log"),
                "-w",
                "-o",
                f"{options} -p {PRIMARY_PORT} -k {directory} -c listen_addresses=127.0.0.1",
                "start",
            ]
        )
    )
    assert started.returncode == 0, started.stderr + (directory / "primary.log").read_text()
    created = run(as_postgres(["createdb", "-h", str(directory), "-p", str(PRIMARY_PORT), "-U", "blog", "blog"]))
    assert created.returncode == 0, created.stderr
    script_env = {
        **os.environ,
        **env,
        "PGDATA": str(data),
        "PGHOST": str(directory),
        "PGPORT": str(PRIMARY_PORT),
    }
    init_script = run(as_postgres([str(BASE_DIR / "deploy/postgres/primary-init.sh")]), env=script_env)
    assert init_script.returncode == 0, init_script.stderr
    return script_env


def start_replica(compose: dict[str, Any], directory: Path, log_name: str) -> subprocess.Popen[str]:
    service = compose["services"]["postgres-replica"]
    env = {
        **os.environ,
        **service["environment"],
        "PRIMARY_HOST": "127.0.0.1",
        "PRIMARY_PORT": str(PRIMARY_PORT),
        "PGDATA": str(directory / "replica"),
        "PATH": f"{PG_BIN}:{os.environ['PATH']}",
        "PRIMARY_WAIT_SECONDS": "20",
    }
    arguments = [*service["command"], "-p", str(REPLICA_PORT), "-k", str(directory), "-c", "listen_addresses=127.0.0.1"]
    with (directory / log_name).open("w") as log:
        # As root (like the official image) the entrypoint re-runs itself as postgres.
        return subprocess.Popen(
            [str(BASE_DIR / "deploy/postgres/replica-entrypoint.sh"), *arguments],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def healthcheck(compose: dict[str, Any], service: str, port: int) -> subprocess.CompletedProcess[str]:
    """Run a postgres service's healthcheck as Docker would, aimed at our port."""
    env = {**os.environ, "PGPORT": str(port), "PATH": f"{PG_BIN}:{os.environ['PATH']}"}
    return run(healthcheck_shell(compose["services"][service]["healthcheck"]["test"]), env=env)


def wait_until_healthy(compose: dict[str, Any], log: Path) -> None:
    try:
        wait_for(
            lambda: healthcheck(compose, "postgres-replica", REPLICA_PORT).returncode == 0, timeout=60, interval=0.5
        )
    except AssertionError:
        pytest.fail(f"the replica did not become healthy:\n{log.read_text()[-3000:]}")


def test_primary_init_and_replica_entrypoint_make_a_streaming_replica(compose: dict[str, Any], pg_dir: Path) -> None:
    start_primary(compose, pg_dir)
    assert "host replication replicator all scram-sha-256" in (pg_dir / "primary/pg_hba.conf").read_text()
    assert sql(PRIMARY_PORT, pg_dir, "SELECT rolreplication FROM pg_roles WHERE rolname = 'replicator'") == "t"
    assert healthcheck(compose, "postgres-primary", PRIMARY_PORT).returncode == 0
    # The replica's healthcheck insists on a standby: the primary fails it.
    assert healthcheck(compose, "postgres-replica", PRIMARY_PORT).returncode != 0
    sql(PRIMARY_PORT, pg_dir, "CREATE TABLE before_clone (n int); INSERT INTO before_clone VALUES (1)")

    replica = start_replica(compose, pg_dir, "replica-1.log")
    wait_until_healthy(compose, pg_dir / "replica-1.log")
    first_log = (pg_dir / "replica-1.log").read_text()
    assert "pg_basebackup -R -X stream" in first_log
    assert sql(REPLICA_PORT, pg_dir, "SELECT pg_is_in_recovery()") == "t"
    assert sql(REPLICA_PORT, pg_dir, "SELECT n FROM before_clone") == "1"
    assert (pg_dir / "replica" / "standby.signal").exists()
    # Streaming, through the slot named in docker-compose.yml.
    slot = compose["services"]["postgres-replica"]["environment"]["REPLICATION_SLOT"]
    wait_for(
        lambda: (
            sql(
                PRIMARY_PORT,
                pg_dir,
                f"SELECT r.state FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = '{slot}'",
            )
            == "streaming"
        ),
        timeout=30,
    )
    sql(PRIMARY_PORT, pg_dir, "CREATE TABLE after_clone (n int); INSERT INTO after_clone VALUES (42)")
    wait_for(lambda: run(["psql", "-X", "-t", "-A", "-h", str(pg_dir), "-p", str(REPLICA_PORT), "-U", "blog", "-d", "blog", "-c", "SELECT n FROM after_clone"]).stdout.strip() == "42", timeout=30)  # fmt: skip
    refused = run(["psql", "-X", "-h", str(pg_dir), "-p", str(REPLICA_PORT), "-U", "blog", "-d", "blog", "-c", "INSERT INTO after_clone VALUES (1)"])  # fmt: skip
    assert "read-only transaction" in refused.stderr

    # A restart keeps its copy (no second clone) and catches up on what it missed via the slot.
    stopped = run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pg_dir / "replica"), "-m", "fast", "-w", "stop"]))
    assert stopped.returncode == 0, stopped.stderr
    replica.wait(timeout=30)
    sql(PRIMARY_PORT, pg_dir, "INSERT INTO after_clone VALUES (43)")
    replica = start_replica(compose, pg_dir, "replica-2.log")
    wait_until_healthy(compose, pg_dir / "replica-2.log")
    second_log = (pg_dir / "replica-2.log").read_text()
    assert "cloning" not in second_log and "starting the standby" in second_log
    wait_for(lambda: sql(REPLICA_PORT, pg_dir, "SELECT count(*) FROM after_clone") == "2", timeout=30)
    run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pg_dir / "replica"), "-m", "fast", "-w", "stop"]))
    replica.wait(timeout=30)


def test_replica_entrypoint_refuses_to_start_without_its_settings(tmp_path: Path) -> None:
    script = str(BASE_DIR / "deploy/postgres/replica-entrypoint.sh")
    env = {"PATH": os.environ["PATH"], "PGDATA": str(tmp_path / "data")}
    missing_host = run([script], env=env)
    assert missing_host.returncode != 0 and "PRIMARY_HOST must name the primary" in missing_host.stderr
    bad_slot = run(
        [script], env={**env, "PRIMARY_HOST": "x", "REPLICATION_PASSWORD": "x", "REPLICATION_SLOT": "Bad-Slot"}
    )
    assert bad_slot.returncode == 1 and "REPLICATION_SLOT must be lower-case" in bad_slot.stderr
    assert not (tmp_path / "data").exists(), "nothing was touched"


# --- web, worker and beat ---------------------------------------------------------------------


def local_url(url: str, database: str | None = None, like: str | None = None) -> str:
    """Point a compose URL at the local service ``like`` names, keeping its path unless ``database``."""
    target = urlsplit(like or url)
    path = f"/{database}" if database else target.path
    return urlunsplit((target.scheme, target.netloc, path, "", ""))


@pytest.fixture(scope="module")
def site_env(compose: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The web service's environment from docker-compose.yml, pointed at a new database on the test services."""
    primary = urlsplit(os.environ["DATABASE_URL"])
    database = f"{primary.path.lstrip('/')}_compose"
    admin = ["psql", "-X", "-q", "-h", primary.hostname or "", "-p", str(primary.port or 5432), "-U", "postgres"]
    drop = f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"
    assert run([*admin, "-d", "postgres", "-c", drop]).returncode == 0
    assert run([*admin, "-d", "postgres", "-c", f"CREATE DATABASE {database}"]).returncode == 0
    var_dir = tmp_path_factory.mktemp("app-var")
    web = compose["services"]["web"]["environment"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_"))}
    env = {k: v for k, v in env.items() if not k.startswith(("CELERY_", "EMAIL_", "GUNICORN_"))}
    env.update(web)
    env.update(
        {
            "DATABASE_URL": local_url(web["DATABASE_URL"], database, like=os.environ["DATABASE_URL"]),
            "REPLICA_DATABASE_URLS": local_url(
                web["REPLICA_DATABASE_URLS"], database, like=os.environ["REPLICA_DATABASE_URLS"].split(",")[0]
            ),
            "REDIS_URL": os.environ["REDIS_URL"],
            "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
            "DJANGO_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "GUNICORN_WORKERS": "2",
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            "HOSTNAME": socket.gethostname(),
        }
    )
    # No mailpit here: Django's console backend prints the mail, so the worker's log shows it.
    del env["EMAIL_HOST"], env["EMAIL_PORT"]
    # What the Dockerfile runs at build time, with only the two values it gives.
    build_env = {k: v for k, v in env.items() if not k.startswith(("DATABASE_", "REPLICA_", "REDIS_", "CELERY_"))}
    build_env.update({"DJANGO_SECRET_KEY": "collectstatic-only", "DJANGO_ALLOWED_HOSTS": "build"})
    collected = run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=build_env, cwd=BASE_DIR)
    assert collected.returncode == 0, collected.stderr
    assert (var_dir / "static" / "staticfiles.json").exists()
    yield env
    run([*admin, "-d", "postgres", "-c", drop])


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def two_webs(site_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two copies of the web entrypoint started at once on the empty database, as --scale web=2 does."""
    logs = tmp_path_factory.mktemp("web-logs")
    processes: list[subprocess.Popen[str]] = []
    bases: list[str] = []
    for number in (1, 2):
        port = free_port()
        env = {**site_env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        with (logs / f"web{number}.log").open("w") as log:
            processes.append(
                subprocess.Popen(
                    [str(BASE_DIR / "deploy/web-entrypoint.sh")],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        bases.append(f"http://127.0.0.1:{port}")

    def serving(base: str, process: subprocess.Popen[str]) -> bool:
        if process.poll() is not None:
            pytest.fail("a web entrypoint exited:\n" + "\n".join(p.read_text()[-3000:] for p in logs.iterdir()))
        try:
            return get(base + "/healthz")[0] == 200
        except OSError:
            return False

    for base, process in zip(bases, processes, strict=True):
        wait_for(functools.partial(serving, base, process), timeout=180, interval=0.5)
    yield bases
    for process in processes:
        stop(process)


def database_value(site_env: dict[str, str], query: str) -> str:
    url = urlsplit(site_env["DATABASE_URL"])
    result = run(["psql", "-X", "-t", "-A", "-h", url.hostname or "", "-p", str(url.port), "-U", "postgres", "-d", url.path.lstrip("/"), "-c", query])  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_two_web_entrypoints_starting_together_migrate_and_seed_once_then_serve(
    two_webs: list[str], site_env: dict[str, str]
) -> None:
    for base in two_webs:
        status, home = get(base + "/")
        assert status == 200 and "Latest posts" in home
        post = re.search(r'href="(/posts/demo-\d+/)"', home)
        assert post, "the demo data was seeded on first start"
        assert get(base + post.group(1))[0] == 200
        assert get(base + "/api/v1/posts/")[0] == 200
        assert "Log in" in get(base + "/admin/login/")[1]
        # Hashed static names from the manifest collectstatic wrote, as in the image.
        assert re.search(r"/static/css/[\w.-]+\.[0-9a-f]{12}\.css", home)
    # Each migration applied once, the demo seeded once (3000 posts is seed_demo's default).
    assert database_value(site_env, "SELECT count(*) - count(DISTINCT (app, name)) FROM django_migrations") == "0"
    assert database_value(site_env, "SELECT count(*) FROM blog_post") == "3000"
    assert database_value(site_env, "SELECT count(*) FROM users_user WHERE username = 'demo' AND is_staff") == "1"


def test_a_restarted_web_entrypoint_finds_nothing_to_migrate_or_seed(
    two_webs: list[str], site_env: dict[str, str]
) -> None:
    prepared = run(
        [sys.executable, "manage.py", "prepare", "--seed-demo"], env={**site_env, "PYTHONUNBUFFERED": "1"}, cwd=BASE_DIR
    )
    assert prepared.returncode == 0, prepared.stderr
    assert "No migrations to apply." in prepared.stdout
    assert "not seeding (--if-empty)" in prepared.stdout
    assert database_value(site_env, "SELECT count(*) FROM blog_post") == "3000"


def test_web_entrypoint_refuses_a_bad_seed_flag(site_env: dict[str, str]) -> None:
    result = run([str(BASE_DIR / "deploy/web-entrypoint.sh")], env={**site_env, "SEED_DEMO_ON_FIRST_START": "yes"})
    assert result.returncode == 2
    assert "SEED_DEMO_ON_FIRST_START must be 0 or 1, not 'yes'" in result.stderr


def compose_process(
    compose: dict[str, Any], service: str, env: dict[str, str], log: Path, replace: dict[str, str]
) -> subprocess.Popen[str]:
    command = [replace.get(part, part) for part in compose["services"][service]["command"]]
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT, text=True)


def service_healthcheck(compose: dict[str, Any], service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(healthcheck_shell(compose["services"][service]["healthcheck"]["test"]), env=env, cwd=BASE_DIR)


def wait_for_log(log: Path, *texts: str) -> None:
    try:
        wait_for(lambda: all(text in log.read_text() for text in texts), timeout=60, interval=0.5)
    except AssertionError:
        pytest.fail(f"{log.name} never showed {texts}:\n{log.read_text()[-4000:]}")


def test_worker_and_beat_commands_answer_their_healthchecks_and_the_worker_runs_tasks(
    compose: dict[str, Any], two_webs: list[str], site_env: dict[str, str], tmp_path: Path
) -> None:
    from project.celery import app

    app.control.purge()  # the test broker is this slot's, like site_env's
    # Nothing answers yet: the healthchecks can fail.
    assert service_healthcheck(compose, "worker", site_env).returncode != 0
    assert service_healthcheck(compose, "beat", site_env).returncode != 0

    worker = compose_process(
        compose, "worker", site_env, tmp_path / "worker.log", {"--concurrency=2": "--concurrency=1"}
    )
    beat = compose_process(
        compose,
        "beat",
        site_env,
        tmp_path / "beat.log",
        {"--schedule=/app/var/celerybeat-schedule": f"--schedule={tmp_path / 'celerybeat-schedule'}"},
    )
    try:
        wait_for(lambda: service_healthcheck(compose, "worker", site_env).returncode == 0, timeout=90, interval=1)
        wait_for(lambda: service_healthcheck(compose, "beat", site_env).returncode == 0, timeout=90, interval=1)
        # A comment through the service layer: its on_commit task reaches the worker via the default queue.
        create = (
            "from blog.models import Post; from users.models import User; from blog.services import comment_create; "
            "post = Post.objects.published().filter(author__username__startswith='author').first(); "
            "comment_create(post=post, author=User.objects.get(username='demo'), body='Compose says hello.'); "
            "print(post.author.email)"
        )
        created = run([sys.executable, "manage.py", "shell", "-c", create], env=site_env, cwd=BASE_DIR)
        assert created.returncode == 0, created.stderr
        recipient = created.stdout.strip().splitlines()[-1]  # after the shell's own auto-import notice
        log = tmp_path / "worker.log"
        wait_for_log(log, "Compose says hello.", f"To: {recipient}")
        # And a task sent to the query killer's queue runs too.
        sent = app.send_task("blog.notify_author_of_comment", args=[10**9], queue="querykiller")
        wait_for_log(log, f"Task blog.notify_author_of_comment[{sent.id}] succeeded")
    finally:
        stop(worker)
        stop(beat)
    assert "celerybeat@" in (tmp_path / "beat.log").read_text()
