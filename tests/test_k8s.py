"""The Kubernetes manifests in deploy/k8s, rendered by Kustomize and checked without a cluster.

`make lint` validates every manifest against the Kubernetes schemas (deploy/k8s/validate.py); these
tests check what no schema can: the wiring. Every Django container gets the variables the settings
require and Django starts with them; the database URLs point at the CloudNativePG Cluster's
services and the Redis URLs at the StatefulSets that are what they claim; the probes are real URLs
of the urlconf with a Host header Django accepts; images and ports are the Dockerfile's and
gunicorn's; beat stays single.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import resolve

from project.monitoring import probes
from tests.compose import BASE_DIR
from tests.test_compose import deploy_variables, settings_variables

K8S_DIR = BASE_DIR / "deploy" / "k8s"
OVERLAYS = ("base", "production")
DJANGO_CONTAINERS = ("web", "worker", "beat", "migrate")
# What project/settings.py refuses to start without when DJANGO_DEBUG is off, or falls back from to
# the embedded default (SQLite, the filesystem broker) that a cluster must never run.
REQUIRED = {"DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
# Secrets the manifests read but leave to their makers: the operator's, and yours (the base's notes).
SECRET_MAKERS = {"django-secrets": "you (deploy/k8s/base/kustomization.yaml)"}


def load_validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("k8s_validate", K8S_DIR / "validate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validator = load_validator()


@pytest.fixture(scope="module", params=OVERLAYS)
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    rendered: list[dict[str, Any]] = validator.render(K8S_DIR / request.param)
    return rendered


def find(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}"
    return matches[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def django_workloads(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {"web": "Deployment", "worker": "Deployment", "beat": "Deployment", "migrate": "Job"}
    return {name: find(manifests, kind, name) for name, kind in kinds.items()}


def django_containers(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every container that runs Django, init containers included, by "workload/container"."""
    containers = {}
    for name, workload in django_workloads(manifests).items():
        spec = pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            containers[f"{name}/{container['name']}"] = container
    return containers


def environment(
    manifests: list[dict[str, Any]], container: dict[str, Any], secrets: dict[str, str] | None = None
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom, then env with $(NAME) expanded.

    A secretKeyRef resolves to ``secrets["name/key"]`` or, by default, a marker naming it.
    """
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(find(manifests, "ConfigMap", source["configMapRef"]["name"])["data"])
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], variable["value"])
        else:
            ref = variable["valueFrom"]["secretKeyRef"]
            key = f"{ref['name']}/{ref['key']}"
            if secrets is None:
                env[variable["name"]] = f"<{key}>"
            elif key in secrets:
                env[variable["name"]] = secrets[key]
            elif not ref.get("optional"):
                raise KeyError(key)
    return env


def cluster(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    clusters = [m for m in manifests if m["kind"] == "Cluster"]
    assert len(clusters) == 1
    return clusters[0]


# --- the manifests' form ----------------------------------------------------------------------


def test_every_rendered_manifest_validates(manifests: list[dict[str, Any]]) -> None:
    assert [problem for manifest in manifests for problem in validator.errors(manifest)] == []
    assert {m["metadata"].get("namespace") for m in manifests if m["kind"] != "Namespace"} == {"django-at-scale"}


def test_validation_refuses_a_misspelt_key_in_a_built_in_kind_and_in_the_cluster(
    manifests: list[dict[str, Any]],
) -> None:
    web = copy.deepcopy(find(manifests, "Deployment", "web"))
    container = pod_spec(web)["containers"][0]
    container["readynessProbe"] = container.pop("readinessProbe")
    assert any("readynessProbe" in problem for problem in validator.errors(web))
    database = copy.deepcopy(cluster(manifests))
    database["spec"]["instance"] = database["spec"].pop("instances")
    assert validator.errors(database)


def test_a_custom_resource_without_a_schema_fails() -> None:
    with pytest.raises(SystemExit, match="has no schema"):
        validator.errors({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_the_validator_runs_from_the_command_line_and_fails_on_a_broken_overlay(tmp_path: Path) -> None:
    shutil.copytree(K8S_DIR, tmp_path / "k8s")
    web = tmp_path / "k8s" / "base" / "web.yaml"
    web.write_text(web.read_text().replace("terminationGracePeriodSeconds: 40", "terminationGracePeriodSeconds: forty"))
    command = [sys.executable, str(K8S_DIR / "validate.py")]
    good = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert good.returncode == 0, good.stderr
    bad = subprocess.run(
        [*command, str(tmp_path / "k8s" / "production")], capture_output=True, text=True, timeout=300, check=False
    )
    assert bad.returncode == 1
    assert "terminationGracePeriodSeconds" in bad.stderr


# --- configuration ----------------------------------------------------------------------------


def test_every_django_container_sets_what_the_settings_require(manifests: list[dict[str, Any]]) -> None:
    for name, container in django_containers(manifests).items():
        env = environment(manifests, container)
        assert set(env) >= REQUIRED, name
        assert env["DJANGO_DEBUG"] == "0", name
        assert env["DJANGO_SECRET_KEY"] == "<django-secrets/DJANGO_SECRET_KEY>", "a secret comes from a Secret"
    for workload in ("web", "worker", "beat"):
        env = environment(manifests, django_containers(manifests)[f"{workload}/{workload}"])
        # Workers and beat kill and route on replicas too; every long-running process reads from them.
        assert "REPLICA_DATABASE_URLS" in env
        assert env["DJANGO_PROCESS_TYPE"] == workload
    assert environment(manifests, django_containers(manifests)["migrate/migrate"])["DJANGO_PROCESS_TYPE"] == "command"


def test_variables_given_to_django_are_ones_the_code_reads(manifests: list[dict[str, Any]]) -> None:
    known = settings_variables() | deploy_variables()
    for name, container in django_containers(manifests).items():
        env = environment(manifests, container)
        # The database URLs are built from the operator's Secret with $(POSTGRES_USER) and friends.
        helpers = {
            m.group(1)
            for variable in container.get("env", [])
            for m in re.finditer(r"\$\((\w+)\)", variable.get("value", ""))
        }
        assert set(env) - known - helpers == set(), name
        assert not {"POSTGRES_USER", "POSTGRES_PASSWORD"} & known, "a helper must not be a setting as well"


def test_secrets_are_read_from_secrets_someone_makes(manifests: list[dict[str, Any]]) -> None:
    made_by_operator = {f"{cluster(manifests)['metadata']['name']}-app"}
    referenced = set()
    for container in django_containers(manifests).values():
        for variable in container.get("env", []):
            if "valueFrom" in variable:
                referenced.add(variable["valueFrom"]["secretKeyRef"]["name"])
    assert referenced == made_by_operator | set(SECRET_MAKERS)
    assert "django-secrets" in (K8S_DIR / "base" / "kustomization.yaml").read_text()
    for configmap in (m for m in manifests if m["kind"] == "ConfigMap"):
        assert not {key for key in configmap["data"] if "SECRET" in key or "PASSWORD" in key}


def test_database_urls_point_at_the_clusters_read_write_and_read_only_services(manifests: list[dict[str, Any]]) -> None:
    database = cluster(manifests)
    name, initdb = database["metadata"]["name"], database["spec"]["bootstrap"]["initdb"]
    assert database["spec"]["instances"] >= 2, "a primary and at least one replica"
    assert database["spec"]["imageName"].endswith(":15"), "PostgreSQL 15, as everywhere else"
    # pg_monitor: the router's lag check (docs/replicas.md); pg_signal_backend: the query killer.
    grants = set(initdb["postInitSQL"])
    assert {f"GRANT pg_monitor TO {initdb['owner']}", f"GRANT pg_signal_backend TO {initdb['owner']}"} <= grants
    secrets = {
        f"{name}-app/username": initdb["owner"],
        f"{name}-app/password": "pw",
        "django-secrets/DJANGO_SECRET_KEY": "k",
    }
    for container_name, container in django_containers(manifests).items():
        env = environment(manifests, container, secrets)
        primary = urlsplit(env["DATABASE_URL"])
        assert (primary.hostname, primary.port, primary.path) == (f"{name}-rw", 5432, "/" + initdb["database"])
        assert (primary.username, primary.password) == (initdb["owner"], "pw"), container_name
        for url in filter(None, env.get("REPLICA_DATABASE_URLS", "").split(",")):
            replica = urlsplit(url)
            assert (replica.hostname, replica.path) == (f"{name}-ro", primary.path), container_name


def test_redis_urls_point_at_statefulsets_that_are_what_they_claim(manifests: list[dict[str, Any]]) -> None:
    env = environment(manifests, django_containers(manifests)["web/web"])

    def redis(url: str) -> list[str]:
        service = find(manifests, "Service", urlsplit(url).hostname or "")
        assert urlsplit(url).port == service["spec"]["ports"][0]["port"] == 6379
        statefulset = find(manifests, "StatefulSet", service["metadata"]["name"])
        assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
        assert service["spec"]["selector"].items() <= statefulset["spec"]["template"]["metadata"]["labels"].items()
        assert statefulset["spec"]["volumeClaimTemplates"], "Redis keeps its data on a volume"
        args: list[str] = pod_spec(statefulset)["containers"][0]["args"]
        return args

    cache, broker = redis(env["REDIS_URL"]), redis(env["CELERY_BROKER_URL"])
    assert cache[cache.index("--appendonly") + 1] == "yes", "the background-filled cache survives restarts"
    assert broker[broker.index("--maxmemory-policy") + 1] == "noeviction", "a full broker never drops a task"


def test_django_starts_with_the_kubernetes_environment(manifests: list[dict[str, Any]], tmp_path: Path) -> None:
    database = cluster(manifests)
    owner = database["spec"]["bootstrap"]["initdb"]["owner"]
    secrets = {
        f"{database['metadata']['name']}-app/username": owner,
        f"{database['metadata']['name']}-app/password": "from-the-operator",
        "django-secrets/DJANGO_SECRET_KEY": "from-a-secret",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REPLICA_", "REDIS_"))}
    env = {k: v for k, v in env.items() if not k.startswith(("CELERY_", "EMAIL_"))}
    env.update(environment(manifests, django_containers(manifests)["web/web"], secrets))
    env.update({"DJANGO_SETTINGS_MODULE": "project.settings", "DJANGO_VAR_DIR": str(tmp_path)})
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.DATABASES['default']['HOST'], s.DATABASES['replica']['HOST'], "
        "s.DATABASES['default']['OPTIONS']['application_name'], s.DATABASES['default']['OPTIONS']['options'], "
        "s.CACHES['default']['LOCATION'], s.CELERY_BROKER_URL, sep='|')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    debug, primary, replica, application_name, options, cache, broker = result.stdout.strip().split("|")
    assert (debug, primary, replica, application_name) == ("False", "blog-db-rw", "blog-db-ro", "django-web")
    assert "statement_timeout=25000" in options, "web pods carry the web statement_timeout"
    assert (cache, broker) == ("redis://redis-cache:6379/0", "redis://redis-broker:6379/0")


# --- probes, images, ports --------------------------------------------------------------------


def test_web_probes_are_real_urls_with_a_host_django_accepts(manifests: list[dict[str, Any]]) -> None:
    web = pod_spec(find(manifests, "Deployment", "web"))["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert resolve("/readyz").func is probes.readyz
    assert resolve("/healthz").func is probes.healthz
    allowed = environment(manifests, web)["DJANGO_ALLOWED_HOSTS"].split(",")
    ports = {port["name"]: port["containerPort"] for port in web["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        request = web[probe]["httpGet"]
        resolve(request["path"])  # raises Resolver404 for a URL the site does not have
        headers = {header["name"]: header["value"] for header in request.get("httpHeaders", [])}
        assert headers.get("Host") in allowed, f"{probe}: the kubelet's default Host (the pod IP) gets a 400"
        assert ports[request["port"]] == 8000


def test_images_and_ports_match_the_dockerfile_and_gunicorn(manifests: list[dict[str, Any]]) -> None:
    dockerfile = (BASE_DIR / "deploy" / "Dockerfile").read_text()
    gunicorn = (BASE_DIR / "deploy" / "gunicorn.conf.py").read_text()
    exposed = re.search(r"^EXPOSE (\d+)$", dockerfile, re.MULTILINE)
    bound = re.search(r'"GUNICORN_BIND", "[\d.]+:(\d+)"', gunicorn)
    assert exposed and bound and int(exposed.group(1)) == int(bound.group(1)) == 8000
    assert re.search(r"^FROM \S+ AS app$", dockerfile, re.MULTILINE)
    assert re.search(r"^FROM nginx:\S+ AS nginx$", dockerfile, re.MULTILINE)

    images = {pod_spec(w)["containers"][0]["image"] for w in django_workloads(manifests).values()}
    images |= {c["image"] for w in django_workloads(manifests).values() for c in pod_spec(w).get("initContainers", [])}
    assert len(images) == 1, "web, worker, beat and the Job run one image (the Dockerfile's app target)"
    assert images.pop().split(":")[0].rpartition("/")[2] == "django-at-scale"
    nginx = pod_spec(find(manifests, "Deployment", "nginx"))["containers"][0]
    assert nginx["image"].split(":")[0].rpartition("/")[2] == "django-at-scale-nginx"

    web = pod_spec(find(manifests, "Deployment", "web"))["containers"][0]
    assert web["command"] == ["gunicorn", "--config", "deploy/gunicorn.conf.py", "project.wsgi"]
    assert "GUNICORN_BIND" not in environment(manifests, web), "gunicorn listens on the port the pod declares"
    assert [port["containerPort"] for port in web["ports"]] == [int(exposed.group(1))]
    service = find(manifests, "Service", "web")
    assert service["spec"]["ports"][0]["targetPort"] == web["ports"][0]["name"]


def test_nginx_gets_exactly_the_templates_variables_and_reaches_the_web_service(
    manifests: list[dict[str, Any]],
) -> None:
    template = (BASE_DIR / "deploy" / "nginx" / "default.conf.template").read_text()
    nginx = pod_spec(find(manifests, "Deployment", "nginx"))["containers"][0]
    env = {variable["name"]: variable["value"] for variable in nginx["env"]}
    assert set(re.findall(r"\$\{(\w+)\}", template)) == set(env) - {"NGINX_ENVSUBST_FILTER"}
    web_service = find(manifests, "Service", "web")
    host, port = env["WEB_UPSTREAM"].rsplit(":", 1)
    assert host == f"web.{web_service['metadata']['namespace']}.svc.cluster.local"
    assert int(port) == web_service["spec"]["ports"][0]["port"]
    assert {p["containerPort"] for p in nginx["ports"]} == {int(env["NGINX_PORT"])}
    for probe in ("readinessProbe", "livenessProbe"):
        assert f"location = {nginx[probe]['httpGet']['path']}" in template
    ingress = find(manifests, "Ingress", "site")
    backends = [
        path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]
    ]
    assert backends == ["nginx"]


# --- what scales and what stays single ----------------------------------------------------------


def test_beat_is_exactly_one_pod_replaced_not_rolled(manifests: list[dict[str, Any]]) -> None:
    beat = find(manifests, "Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    autoscaled = {m["spec"]["scaleTargetRef"]["name"] for m in manifests if m["kind"] == "HorizontalPodAutoscaler"}
    assert autoscaled == {"web"}


def test_web_rolls_without_losing_capacity_and_survives_disruptions(manifests: list[dict[str, Any]]) -> None:
    web = find(manifests, "Deployment", "web")
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    labels = web["spec"]["template"]["metadata"]["labels"]
    budget = find(manifests, "PodDisruptionBudget", "web")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    autoscaler = find(manifests, "HorizontalPodAutoscaler", "web")
    assert autoscaler["spec"]["minReplicas"] > budget["spec"]["minAvailable"]
    container = pod_spec(web)["containers"][0]
    assert container["resources"]["requests"]["cpu"], "the autoscaler's utilisation is relative to the request"
    # Stopped pods drain within the grace period: gunicorn's graceful_timeout plus the preStop pause.
    gunicorn = (BASE_DIR / "deploy" / "gunicorn.conf.py").read_text()
    graceful = re.search(r"^graceful_timeout = (\d+)$", gunicorn, re.MULTILINE)
    assert graceful
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert pod_spec(web)["terminationGracePeriodSeconds"] > int(graceful.group(1)) + pause


def test_migrations_run_once_in_a_job_and_every_process_waits_for_them(manifests: list[dict[str, Any]]) -> None:
    job = pod_spec(find(manifests, "Job", "migrate"))["containers"][0]
    assert job["command"] == ["python", "manage.py", "prepare"]
    for name in ("web", "worker", "beat"):
        init = pod_spec(find(manifests, "Deployment", name))["initContainers"]
        assert [c["name"] for c in init] == ["wait-for-migrations"]
        assert "manage.py migrate --check" in init[0]["command"][-1]
    web = pod_spec(find(manifests, "Deployment", "web"))["containers"][0]
    assert "web-entrypoint" not in " ".join(web["command"]), "web pods do not migrate"


def test_workers_consume_the_query_killers_queue(manifests: list[dict[str, Any]]) -> None:
    from django.conf import settings

    worker = pod_spec(find(manifests, "Deployment", "worker"))["containers"][0]
    queues = next(arg for arg in worker["command"] if arg.startswith("--queues=")).split("=", 1)[1].split(",")
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {"celery"} <= set(queues)


def test_every_process_at_the_autoscalers_maximum_fits_the_primarys_connections(
    manifests: list[dict[str, Any]],
) -> None:
    # docs/scaling-out.md shows this sum: a sync gunicorn process (one thread) or a Celery child
    # checks out one pooled primary connection at a time, so the pool never grows past one each.
    web = find(manifests, "Deployment", "web")
    env = environment(manifests, pod_spec(web)["containers"][0])
    assert env.get("GUNICORN_THREADS", "1") == "1"
    web_processes = find(manifests, "HorizontalPodAutoscaler", "web")["spec"]["maxReplicas"] * int(
        env["GUNICORN_WORKERS"]
    )
    worker = find(manifests, "Deployment", "worker")
    concurrency = next(a for a in pod_spec(worker)["containers"][0]["command"] if a.startswith("--concurrency="))
    worker_processes = worker["spec"]["replicas"] * int(concurrency.split("=")[1])
    beat, killer, migrate, superuser_reserved = 1, 1, 1, 3
    max_connections = int(cluster(manifests)["spec"]["postgresql"]["parameters"]["max_connections"])
    assert web_processes + worker_processes + beat + killer + migrate + superuser_reserved <= max_connections
