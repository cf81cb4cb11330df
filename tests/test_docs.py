"""Every claim the docs make about the code names something that exists.

The Markdown pages (README.md, CHANGELOG.md, docs/*.md) are checked for three kinds of reference:

- a backticked repository path (`project/replicas/router.py`, `deploy/services.sh`, `api/tests/`)
  must exist; a ``*`` in it is a glob that must match something. CHANGELOG.md is left out of this
  check because it names the paths of earlier layouts on purpose.
- a backticked dotted name starting with one of the project's packages (`project.models.QuerySet`,
  `blog.stats.home_highlights`) must import as a module or resolve as an attribute of one, or be a
  name the code itself spells as a string literal (a Celery task name, a logger, a system check id).
- every ``make <target>`` in backticks or a code block must be a target of the Makefile.

Relative Markdown links must reach a file, the README must link every page of docs/, and every
variable a settings table names (first column of a table headed "variable" or "setting") must be
read somewhere: the settings, gunicorn's config, the compose file or ``.env.example``.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
PATH_CHECKED = [page for page in PAGES if page.name != "CHANGELOG.md"]
PACKAGES = ("project", "blog", "users", "api", "benchmarks")
# The repository's top-level folders: a backticked path starting with one is a claim about the code.
TOP_LEVEL = {*PACKAGES, "deploy", "docs", "tests", ".ci"}

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
DOTTED = re.compile(rf"^(?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_]\w*)+$")
FILE_SUFFIX = re.compile(r"\.(?:md|py|html|txt|yml|yaml|toml|json|sh|cfg|conf|example)$")
MAKE = re.compile(r"(?:^|[\s;&(|])make ([a-z][\w-]*)")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def inline_spans(text: str) -> list[str]:
    """Return the backticked spans of ``text`` outside fenced code blocks."""
    return INLINE.findall(FENCE.sub("", text))


def make_commands(text: str) -> list[str]:
    """Return the targets of every ``make <target>`` in backticks or in a fenced code block."""
    places = [*inline_spans(text), *FENCE.findall(text)]
    return [target for place in places for target in MAKE.findall(place)]


def path_claim(span: str) -> str | None:
    """Return the repository path ``span`` names, or None when it names no path of this repository."""
    candidate = span.split("::")[0].rstrip(",.:;")
    if " " in candidate or "/" not in candidate or candidate.startswith(("/", "http")):
        return None
    return candidate if candidate.split("/")[0] in TOP_LEVEL else None


def dotted_claim(span: str) -> str | None:
    """Return the dotted Python name ``span`` names (call parentheses dropped), or None."""
    candidate = re.sub(r"\(.*\)$", "", span.strip())
    if FILE_SUFFIX.search(candidate) or not DOTTED.match(candidate):
        return None
    return candidate


@cache
def string_literals() -> str:
    """Return the project's Python source, where names the code spells as strings can be found."""
    sources = [path.read_text() for package in PACKAGES for path in (ROOT / package).rglob("*.py")]
    return "\n".join(sources)


def resolves(name: str) -> bool:
    """Return whether ``name`` is a module, an attribute path under one, or a string the code defines.

    A name that is a whole module is found without importing it: entry points such as
    ``project.wsgi`` set environment variables when imported, which later tests would inherit.
    """
    with contextlib.suppress(ImportError):
        if importlib.util.find_spec(name) is not None:
            return True
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                target = getattr(target, attribute)
        except AttributeError:
            break
        return True
    return f'"{name}"' in string_literals()


@cache
def makefile_targets() -> set[str]:
    """Return the targets the Makefile defines."""
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_pages_exist_and_include_the_changelog_and_the_template_guide() -> None:
    names = {page.name for page in PAGES}
    assert {"README.md", "CHANGELOG.md", "template.md", "architecture.md"} <= names
    assert all(page.is_file() for page in PAGES)


@pytest.mark.parametrize("page", PATH_CHECKED, ids=lambda page: page.name)
def test_every_backticked_repository_path_exists(page: Path) -> None:
    claims = [claim for span in inline_spans(page.read_text()) if (claim := path_claim(span))]
    missing = [claim for claim in claims if not any(ROOT.glob(claim.rstrip("/")))]
    assert missing == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_backticked_dotted_name_resolves(page: Path) -> None:
    claims = [claim for span in inline_spans(page.read_text()) if (claim := dotted_claim(span))]
    assert [claim for claim in claims if not resolves(claim)] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_make_target_named_exists(page: Path) -> None:
    assert [target for target in make_commands(page.read_text()) if target not in makefile_targets()] == []


def settings_table_names(text: str) -> list[str]:
    """Return the upper-case names in the first column of tables headed "variable" or "setting"."""
    names: list[str] = []
    in_table = False
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if not cells:
            in_table = False
        elif cells[0] in {"variable", "setting"}:
            in_table = True
        elif in_table:
            names += [name for name in INLINE.findall(cells[0]) if re.fullmatch(r"[A-Z][A-Z0-9_]+", name)]
    return names


@cache
def configuration_sources() -> str:
    """Return the text of every file that reads the site's environment variables and settings."""
    files = ["project/settings.py", "deploy/gunicorn.conf.py", "docker-compose.yml", ".env.example"]
    return "\n".join((ROOT / name).read_text() for name in files)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_variable_in_a_settings_table_is_read(page: Path) -> None:
    names = settings_table_names(page.read_text())
    assert [name for name in names if not re.search(rf"\b{name}\b", configuration_sources())] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_reaches_a_file(page: Path) -> None:
    links = [link for link in LINK.findall(page.read_text()) if "://" not in link and not link.startswith("mailto:")]
    assert [link for link in links if not (page.parent / link).exists()] == []


def test_the_readme_links_every_page_of_the_docs() -> None:
    linked = {(ROOT / link).resolve() for link in LINK.findall((ROOT / "README.md").read_text())}
    assert [page.name for page in sorted((ROOT / "docs").glob("*.md")) if page.resolve() not in linked] == []


def test_the_checks_catch_a_false_claim() -> None:
    text = "See `project/no_such_module.py`, `project.replicas.lag.no_such_function` and `make no-such-target`."
    assert path_claim(inline_spans(text)[0]) == "project/no_such_module.py"
    assert not any(ROOT.glob("project/no_such_module.py"))
    assert not resolves("project.replicas.lag.no_such_function")
    assert resolves("project.replicas.lag")
    assert resolves("project.querykiller.kill_long_queries_task")  # a Celery task name
    assert make_commands(text) == ["no-such-target"]
    assert "no-such-target" not in makefile_targets()
    assert path_claim("`/api/v1/posts/`".strip("`")) is None
    assert dotted_claim("api.md") is None
    assert settings_table_names("| variable | default |\n| --- | --- |\n| `NO_SUCH_SETTING` | 1 |") == [
        "NO_SUCH_SETTING"
    ]
    assert "NO_SUCH_SETTING" not in configuration_sources()
