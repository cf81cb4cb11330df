"""No module of the project reaches into Django, DRF or Celery through a private (underscore) name.

Ruff's ``SLF001`` flags ``obj._name`` on any object but cannot tell whose the object is, and its
``banned-api`` lists exact names, not "anything private from a package". This test parses every
project module and fails on ``from django.x import _y``, ``import django._x``, and ``_y`` read as
an attribute of a name imported from those packages (``admin_list._coerce_field_name``), so a
private name cannot arrive under any spelling. ``_meta`` and the other names Django documents are
public API and allowed, as in ruff's ``flake8-self.ignore-names``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("django", "rest_framework", "celery")
DOCUMENTED = {"_meta", "_default_manager", "_base_manager", "_state"}
SKIPPED = {".venv", "var", "node_modules", "migrations", ".git"}


def project_modules() -> list[Path]:
    return sorted(path for path in ROOT.rglob("*.py") if not SKIPPED.intersection(path.relative_to(ROOT).parts[:-1]))


def is_framework(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in DOCUMENTED


def imported_private_names(node: ast.Import | ast.ImportFrom, framework_names: set[str]) -> list[str]:
    """The private framework names one import statement brings in; records the names it binds."""
    found = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if is_framework(alias.name):
                if any(is_private(part) for part in alias.name.split(".")):
                    found.append(f"{node.lineno}: import {alias.name}")
                framework_names.add(alias.asname or alias.name.split(".")[0])
    elif node.module and node.level == 0 and is_framework(node.module):
        if any(is_private(part) for part in node.module.split(".")):
            found.append(f"{node.lineno}: from {node.module} import ...")
        for alias in node.names:
            if is_private(alias.name):
                found.append(f"{node.lineno}: from {node.module} import {alias.name}")
            framework_names.add(alias.asname or alias.name)
    return found


def private_uses(source: str) -> list[str]:
    """Each private framework name ``source`` imports or reads, as ``line: what``."""
    tree = ast.parse(source)
    framework_names: set[str] = set()  # local names bound to framework modules or objects
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found += imported_private_names(node, framework_names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in framework_names:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from django.contrib.admin.utils import _get_non_gfk_field", True),
        ("from django.utils.translation import trans_real as t\nt._active", True),
        ("import django.utils._os", True),
        ("from django.contrib.admin.templatetags import admin_list\nadmin_list._coerce_field_name", True),
        ("from rest_framework import fields\nfields._UnvalidatedField", True),
        ("from celery import app\napp._state", False),  # _state: documented by Django, allowed everywhere
        ("from celery.app import base\nbase._after_fork_cleanup_app", True),
        ("from django.db import models\nmodels.Model._meta", False),
        ("import os\nos._exit", False),
    ],
)
def test_the_check_catches_each_spelling(source: str, caught: bool) -> None:
    assert bool(private_uses(source)) is caught


def test_no_project_module_uses_a_private_name_of_django_drf_or_celery() -> None:
    modules = project_modules()
    assert len(modules) > 50
    problems = [f"{path.relative_to(ROOT)}:{use}" for path in modules for use in private_uses(path.read_text())]
    assert not problems, "\n".join(problems)
