"""``make test-swarm``: deploy/stack.yml on a one-node Docker swarm, rolled and scaled under load.

Builds the site's images (tagged for this run only, so compose's ``:local`` images are never
touched), initialises a swarm if the engine has none, labels the node for the stateful services,
creates the stack's secrets, deploys it as ``django-at-scale-swarm`` and waits for every service to
be healthy. Then, with readers (home, API list, a post page) and a writer (API comments) going
through nginx on ``SWARM_HTTP_PORT``: rolls web to a new image and back, scales the workers up
and down, and checks that beat stayed one task. Every comment the site acknowledged must be in the
primary afterwards. The last line is JSON: ``{"requests", "errors_5xx", "lost_writes", "rollout_s",
"rollback_s", ...}``; the exit status is 0 only with 0 responses 5xx, 0 failed connections and 0
lost writes. Everything it made is removed at the end, on failure too, and a swarm it initialised
is left.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]
STACK_FILE = BASE_DIR / "deploy" / "stack.yml"
STACK = "django-at-scale-swarm"
PORT = int(os.environ.get("SWARM_HTTP_PORT", "8480"))
BASE_URL = f"http://127.0.0.1:{PORT}"
RUN_TAG = "swarm-test"
IMAGE_V1 = f"django-at-scale:{RUN_TAG}-1"
IMAGE_V2 = f"django-at-scale:{RUN_TAG}-2"
NGINX_IMAGE = f"django-at-scale-nginx:{RUN_TAG}"
NODE_LABELS = ("postgres-primary", "postgres-replica", "redis-cache", "redis-broker")
SECRET_NAMES = (
    "django_at_scale_secret_key",
    "django_at_scale_postgres_password",
    "django_at_scale_replication_password",
    "django_at_scale_database_url",
    "django_at_scale_replica_database_urls",
)
DEPLOY_TIMEOUT_S = 900
UPDATE_TIMEOUT_S = 600
WORKERS_UP = 3


def log(message: str) -> None:
    print(f"swarm: {message}", file=sys.stderr, flush=True)


def docker(*args: str, timeout: float = 120, check: bool = True, stdin: str | None = None) -> str:
    """Run ``docker ARGS`` and return its output; raise with its error when ``check`` and it fails."""
    result = subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def wait_for(what: str, condition: Callable[[], bool], timeout: float, interval: float = 1.0) -> float:
    """Poll ``condition`` until true; return the seconds it took, or raise after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"{what}: not done after {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - start


# --- images, swarm, secrets ----------------------------------------------------------------------


def build_images() -> None:
    """Build this run's images from the working tree; v2 differs from v1 by a label, so it is new."""
    log("building the application and nginx images")
    docker(
        "build", "--quiet", "-f", "deploy/Dockerfile", "--target", "app", "-t", IMAGE_V1, str(BASE_DIR), timeout=1200
    )
    docker(
        "build",
        "--quiet",
        "-f",
        "deploy/Dockerfile",
        "--target",
        "nginx",
        "-t",
        NGINX_IMAGE,
        str(BASE_DIR),
        timeout=1200,
    )
    dockerfile = f"FROM {IMAGE_V1}\nLABEL org.django-at-scale.swarm-test-version=2\n"
    docker("build", "--quiet", "-t", IMAGE_V2, "-", stdin=dockerfile, timeout=300)


class Swarm:
    """The swarm as found, and everything this run adds to it, so that cleanup removes exactly that."""

    def __init__(self) -> None:
        self.state = docker("info", "--format", "{{.Swarm.LocalNodeState}}")
        self.initialised = False
        self.gwbridge_existed = bool(docker("network", "ls", "--quiet", "--filter", "name=^docker_gwbridge$"))
        self.node = ""
        self.labels_added: list[str] = []
        self.secrets_added: list[str] = []

    def join(self) -> None:
        if self.state == "inactive":
            log("initialising a one-node swarm (docker swarm init --advertise-addr 127.0.0.1)")
            docker("swarm", "init", "--advertise-addr", "127.0.0.1", timeout=60)
            self.initialised = True
        elif self.state != "active":
            raise RuntimeError(f"the engine's swarm is {self.state!r}; expected inactive or active")
        self.node = docker("info", "--format", "{{.Swarm.NodeID}}")
        present = json.loads(docker("node", "inspect", self.node, "--format", "{{json .Spec.Labels}}") or "{}") or {}
        for name in NODE_LABELS:
            label = f"django-at-scale.{name}"
            if label not in present:
                docker("node", "update", "--label-add", f"{label}=true", self.node)
                self.labels_added.append(label)

    def create_secrets(self) -> None:
        password, replication = secrets.token_hex(16), secrets.token_hex(16)
        values = {
            "django_at_scale_secret_key": secrets.token_urlsafe(50),
            "django_at_scale_postgres_password": password,
            "django_at_scale_replication_password": replication,
            "django_at_scale_database_url": f"postgres://blog:{password}@postgres-primary:5432/blog",
            "django_at_scale_replica_database_urls": f"postgres://blog:{password}@postgres-replica:5432/blog",
        }
        for name in SECRET_NAMES:
            if docker("secret", "ls", "--quiet", "--filter", f"name=^{name}$"):
                raise RuntimeError(f"secret {name} exists already: another deployment of the stack uses it")
            docker("secret", "create", name, "-", stdin=values[name])
            self.secrets_added.append(name)

    def clean_up(self) -> None:
        """Remove the stack, its volumes, the secrets and labels this run added; leave a swarm it made."""
        if self.state == "active" or self.initialised:
            docker("stack", "rm", STACK, check=False, timeout=120)
            try:
                wait_for(
                    "the stack's containers to go",
                    lambda: not docker("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={STACK}"),
                    timeout=150,
                )
                wait_for(
                    "the stack's network to go",
                    lambda: not docker("network", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}"),
                    timeout=60,
                )
            except TimeoutError as error:
                log(str(error))
            for volume in docker("volume", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={STACK}").split():
                docker("volume", "rm", volume, check=False)
            for name in self.secrets_added:
                docker("secret", "rm", name, check=False)
            for label in self.labels_added:
                docker("node", "update", "--label-rm", label, self.node, check=False)
        if self.initialised:
            log("leaving the swarm this run made")
            docker("swarm", "leave", "--force", check=False, timeout=60)
            if not self.gwbridge_existed:
                docker("network", "rm", "docker_gwbridge", check=False)
        docker("image", "rm", IMAGE_V2, check=False)


# --- the stack -------------------------------------------------------------------------------------


def services() -> dict[str, str]:
    """Each service of the stack (without the stack's prefix) and its "running/desired" count."""
    lines = docker(
        "service", "ls", "--filter", f"label=com.docker.stack.namespace={STACK}", "--format", "{{.Name}} {{.Replicas}}"
    )
    return {
        name.removeprefix(f"{STACK}_"): replicas.split()[0]
        for name, replicas in (line.split(" ", 1) for line in lines.splitlines())
    }


def all_running() -> bool:
    found = services()
    return bool(found) and all(r.split("/")[0] == r.split("/")[1] and r != "0/0" for r in found.values())


def running_tasks(service: str) -> list[dict[str, Any]]:
    ids = docker("service", "ps", f"{STACK}_{service}", "--quiet", "--filter", "desired-state=running").split()
    tasks = [json.loads(docker("inspect", "--type", "task", "--format", "{{json .}}", task_id)) for task_id in ids]
    return [task for task in tasks if task["Status"]["State"] == "running"]


def update_state(service: str) -> str:
    return docker(
        "service", "inspect", f"{STACK}_{service}", "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"
    )


def service_image(service: str) -> str:
    image = docker("service", "inspect", f"{STACK}_{service}", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}")
    return image.split("@")[0]


def deploy() -> float:
    environment = {
        **os.environ,
        "DJANGO_IMAGE": IMAGE_V1,
        "NGINX_IMAGE": NGINX_IMAGE,
        "HTTP_PORT": str(PORT),
        # The load below comes from one address and one user: lift the throttles (not 5xx, but noise).
        "API_THROTTLE_ANON_RATE": "1000000/min",
        "API_THROTTLE_USER_RATE": "1000000/min",
        "API_THROTTLE_WRITE_RATE": "1000000/min",
    }
    log(f"deploying {STACK_FILE.relative_to(BASE_DIR)} as {STACK}")
    start = time.monotonic()
    result = subprocess.run(
        ["docker", "stack", "deploy", "--detach=true", "--resolve-image=never", "-c", str(STACK_FILE), STACK],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"docker stack deploy: {result.stderr}")
    wait_for("every service running and healthy", all_running, timeout=DEPLOY_TIMEOUT_S, interval=3)
    wait_for("the site through nginx", lambda: http("GET", "/readyz")[0] == 200, timeout=120)
    return time.monotonic() - start


# --- load through nginx ----------------------------------------------------------------------------


def http(method: str, path: str, body: dict[str, Any] | None = None, token: str = "") -> tuple[int, Any]:
    """Send one request through nginx; return (status, parsed JSON or None). 0 means no response."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE_URL + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    except (urllib.error.URLError, OSError):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


class Load:
    """Readers and a writer through nginx until stopped, counting every answer."""

    def __init__(self, token: str, post_id: int, post_path: str, readers: int = 3) -> None:
        self.token, self.post_id, self.post_path = token, post_id, post_path
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.requests = self.errors_5xx = self.failed_connections = 0
        self.acknowledged: list[int] = []
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self.read, daemon=True) for _ in range(readers)]
        self.threads.append(threading.Thread(target=self.write, daemon=True))

    def count(self, label: str, status: int) -> None:
        with self.lock:
            self.requests += 1
            if status >= 500:
                self.errors_5xx += 1
            elif status == 0:
                self.failed_connections += 1
            if (status >= 500 or status == 0) and len(self.failures) < 20:
                self.failures.append(f"{time.strftime('%H:%M:%S')} {label}: {status or 'no response'}")

    def read(self) -> None:
        paths = ["/", "/api/v1/posts/", self.post_path]
        number = 0
        while not self.stop.is_set():
            path = paths[number % len(paths)]
            self.count(f"GET {path}", http("GET", path)[0])
            number += 1

    def write(self) -> None:
        number = 0
        while not self.stop.is_set():
            number += 1
            body = {"post": self.post_id, "body": f"swarm rolling-update comment {number}"}
            status, answer = http("POST", "/api/v1/comments/", body, token=self.token)
            self.count("POST /api/v1/comments/", status)
            if status == 201:
                with self.lock:
                    self.acknowledged.append(int(answer["id"]))
            time.sleep(0.05)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def lost_writes(acknowledged: list[int]) -> int:
    """Count acknowledged comments that the primary does not have."""
    container = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_postgres-primary")
    ids = ",".join(str(i) for i in acknowledged) or "0"
    found = docker(
        "exec", container.split()[0], "psql", "--username=blog", "--dbname=blog", "--no-psqlrc", "--tuples-only",
        "--no-align", "--command", f"SELECT count(*) FROM blog_comment WHERE id IN ({ids})",
    )  # fmt: skip
    return len(set(acknowledged)) - int(found)


# --- the run ---------------------------------------------------------------------------------------


def roll(service: str, *args: str, done: str) -> float:
    """Run ``docker service update|rollback ARGS`` on ``service``; return the seconds until ``done``."""
    start = time.monotonic()
    docker("service", *args, "--detach", f"{STACK}_{service}", timeout=60)

    def finished() -> bool:
        state = update_state(service)
        if state in {"paused", "rollback_paused"} or (done == "completed" and state.startswith("rollback")):
            raise RuntimeError(f"{service}: the update ended {state!r}")
        return state == done

    wait_for(f"{service} {args[0]}", finished, timeout=UPDATE_TIMEOUT_S, interval=0.5)
    return time.monotonic() - start


def exercise(result: dict[str, Any]) -> None:
    status, answer = http("POST", "/api/v1/auth/token/", {"username": "demo", "password": "demo-password"})
    if status != 200:
        raise RuntimeError(f"the demo account's token: {status} {answer}")
    token = answer["token"]
    status, page = http("GET", "/api/v1/posts/")
    if status != 200 or not page["results"]:
        raise RuntimeError(f"the post list: {status}")
    post = page["results"][0]
    load = Load(token, post["id"], post["url"])
    try:
        with load:
            time.sleep(10)
            log(f"rolling web to {IMAGE_V2}")
            result["rollout_s"] = round(roll("web", "update", "--image", IMAGE_V2, done="completed"), 1)
            images = {task["Spec"]["ContainerSpec"]["Image"].split("@")[0] for task in running_tasks("web")}
            if images != {IMAGE_V2}:
                raise RuntimeError(f"after the rollout web runs {images}")
            time.sleep(5)
            log("rolling web back")
            result["rollback_s"] = round(roll("web", "rollback", done="rollback_completed"), 1)
            if service_image("web") != IMAGE_V1:
                raise RuntimeError(f"after the rollback web is {service_image('web')}")
            log(f"scaling the workers to {WORKERS_UP} and back to 1")
            start = time.monotonic()
            docker("service", "scale", "--detach", f"{STACK}_worker={WORKERS_UP}")
            wait_for("workers up", lambda: services()["worker"] == f"{WORKERS_UP}/{WORKERS_UP}", UPDATE_TIMEOUT_S, 1)
            docker("service", "scale", "--detach", f"{STACK}_worker=1")
            wait_for("workers down", lambda: services()["worker"] == "1/1", UPDATE_TIMEOUT_S, 1)
            result["workers_scaled_s"] = round(time.monotonic() - start, 1)
            result["beat_tasks"] = len(running_tasks("beat"))
            time.sleep(5)
    finally:
        # Counted on failure too: the JSON line says how far the run got and what the load saw.
        result.update(
            requests=load.requests,
            errors_5xx=load.errors_5xx,
            failed_connections=load.failed_connections,
            writes=len(load.acknowledged),
            lost_writes=lost_writes(load.acknowledged),
        )
        for failure in load.failures:
            log(f"failed request: {failure}")


def print_logs() -> None:
    for service in services():
        log(f"--- the last lines of {service}'s log")
        print(
            docker("service", "logs", "--tail", "30", "--no-task-ids", f"{STACK}_{service}", check=False, timeout=30),
            file=sys.stderr,
        )
        print(docker("service", "ps", "--no-trunc", f"{STACK}_{service}", check=False), file=sys.stderr)


def main() -> int:
    # A `timeout` or CI stopping the run still removes what it made (the finally below).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    build_images()
    swarm = Swarm()
    result: dict[str, Any] = {
        "requests": 0,
        "errors_5xx": None,
        "lost_writes": None,
        "rollout_s": None,
        "rollback_s": None,
    }
    failed = True
    try:
        swarm.join()
        swarm.create_secrets()
        result["deploy_s"] = round(deploy(), 1)
        exercise(result)
        failed = not (
            result["errors_5xx"] == 0
            and result["failed_connections"] == 0
            and result["lost_writes"] == 0
            and result["writes"] > 0
            and result["beat_tasks"] == 1
        )
    except Exception as error:
        log(f"failed: {error}")
        print_logs()
    finally:
        swarm.clean_up()
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
