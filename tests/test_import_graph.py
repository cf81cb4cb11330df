"""No import cycles: between the modules of the project, between ``project/``'s subpackages, between apps.

The graph is read with ``ast``, not by importing: an edge is a module-level ``import`` (an import
inside a function runs late and cannot deadlock module loading; one under ``if TYPE_CHECKING:``
never runs). Tests and migrations are left out: nothing imports them.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGES = ("project", "blog", "users", "api")


def module_name(path: Path) -> str:
    parts = path.relative_to(BASE_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            if not {"tests", "migrations"} & set(path.relative_to(BASE_DIR).parts):
                yield path


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_statements(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """Yield the statements that run on import, looking inside ``if``/``try`` but not functions or classes."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            if not is_type_checking(node.test):
                yield from module_level_statements(node.body)
            yield from module_level_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(handler.body for handler in node.handlers)):
                yield from module_level_statements(block)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """Return the project modules ``path`` imports at module level (``from a import b`` counts ``a.b`` if a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in module_level_statements(ast.parse(path.read_text(), str(path)).body):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            # "import a.b.c" runs a, a.b and a.b.c: the nearest project module is the edge.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = list(source_files())
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) for path in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of ``graph`` as a path that starts and ends on the same node, or None."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for neighbour in sorted(graph.get(node, ())):
            cycle = visit(neighbour)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle:
            return cycle
    return None


def collapse(graph: dict[str, set[str]], group: Callable[[str], str]) -> dict[str, set[str]]:
    """Merge the modules ``group`` maps to one name; keep the edges between different groups."""
    collapsed: dict[str, set[str]] = {}
    for module, imports in graph.items():
        edges = collapsed.setdefault(group(module), set())
        edges.update(group(target) for target in imports if group(target) != group(module))
    return collapsed


def project_part(module: str) -> str:
    """``project.cache.background`` -> ``project.cache``; the top of ``project/`` stays per module."""
    parts = module.split(".")
    if parts[0] == "project" and len(parts) > 2:
        return ".".join(parts[:2])
    return module


def test_no_module_imports_itself_through_others() -> None:
    assert find_cycle(import_graph()) is None


def test_no_two_subpackages_of_project_import_each_other() -> None:
    graph = collapse({m: i for m, i in import_graph().items() if m.startswith("project")}, project_part)
    graph = {
        module: {target for target in targets if target.startswith("project")} for module, targets in graph.items()
    }
    assert find_cycle(graph) is None


def test_no_two_apps_import_each_other() -> None:
    graph = collapse(import_graph(), lambda module: module.partition(".")[0])
    assert find_cycle(graph) is None


def test_a_cycle_is_found_and_named() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_has_module_level_imports_and_leaves_out_function_level_ones() -> None:
    graph = import_graph()
    assert "project.cache.background" in graph["project.cache.tasks"]
    assert graph["blog.services"] >= {"blog.models", "users.models"}
    # comment_create imports blog.tasks inside the function: not an edge.
    assert "blog.tasks" not in graph["blog.services"]
    collapsed = collapse(graph, project_part)
    assert "project.monitoring" in collapsed["project.cache"]
