"""The import rules of DESIGN.md, read from the source with ``ast`` (nothing is imported).

Every import counts, at module level or inside a function or class: an import moved into a
function to dodge a cycle is still a dependency. Migrations are left out (Django writes them).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

DOMAIN_APPS = ("sources", "analysis", "clustering", "stories")
# The research code, and the libraries only it needs (requirements/lab.txt): the product runs
# on requirements/base.txt alone.
RESEARCH = ("lab", "bench", "sklearn", "scipy")

# What each app may not import: `sources <- analysis <- clustering <- stories <- newsroom`, no app
# imports the research code, and accounts stays out of the domain. (Settings come through
# django.conf, which is no app.)
FORBIDDEN: dict[str, frozenset[str]] = {
    "sources": frozenset({"analysis", "clustering", "stories", "newsroom", *RESEARCH}),
    "analysis": frozenset({"clustering", "stories", "newsroom", *RESEARCH}),
    "clustering": frozenset({"stories", "newsroom", *RESEARCH}),
    "stories": frozenset({"newsroom", *RESEARCH}),
    "newsroom": frozenset(RESEARCH),
    "accounts": frozenset({*DOMAIN_APPS, *RESEARCH}),
}

# Known violations, as (importing module, imported package), each with a comment naming its issue
# (e.g. `("stories.views", "newsroom"),  # issue 15: being moved`): debts to pay, not permissions.
# Empty when this test was written; an entry whose violation is gone fails
# test_it_lists_no_allowed_violation_that_is_gone, so the list only shrinks.
ALLOWED_LAYER_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()

# Known cycles, each as the sorted tuple of its modules, commented the same way. Empty too.
ALLOWED_CYCLES: frozenset[tuple[str, ...]] = frozenset()


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module or package, dotted and absolute
    names: tuple[str, ...]  # for ``from target import a, b``: a and b; empty for ``import target``
    line: int
    type_checking: bool  # under ``if TYPE_CHECKING:``: read by the type checker, never run


def apps_present() -> list[str]:
    # An app that does not exist yet (clustering/ is being created) has nothing to check.
    return [app for app in FORBIDDEN if (ROOT / app / "__init__.py").is_file()]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_files(app: str) -> list[Path]:
    return [path for path in sorted((ROOT / app).rglob("*.py")) if "migrations" not in path.relative_to(ROOT).parts]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_in(source: str, *, module: str, is_package: bool = False) -> Iterator[Import]:
    tree = ast.parse(source)
    type_checking = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):  # every level: module, class and function bodies alike
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno, id(node) in type_checking)
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, target] if target else base)
            names = tuple(alias.name for alias in node.names)
            yield Import(module, target, names, node.lineno, id(node) in type_checking)


def app_imports(app: str) -> list[Import]:
    return [
        imported
        for path in app_files(app)
        for imported in imports_in(
            path.read_text(encoding="utf-8"), module=module_name(path), is_package=path.name == "__init__.py"
        )
    ]


def forbidden_in(app: str, imports: Iterable[Import]) -> list[tuple[str, str, int]]:
    """(module, forbidden package, line) for each import the app may not make, type-only ones included."""
    return [
        (imported.module, imported.target.split(".")[0], imported.line)
        for imported in imports
        if imported.target.split(".")[0] in FORBIDDEN[app]
    ]


def graph_of(modules: set[str], imports: Iterable[Import]) -> dict[str, set[str]]:
    """For each of the modules, the ones among them it imports when it runs.

    Imports under ``if TYPE_CHECKING:`` are left out: they never run, and they are how a
    queryset names its model in annotations while the model imports the queryset.
    """
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for imported in imports:
        if imported.type_checking or imported.module not in graph:
            continue
        # ``from sources import articles`` imports the module sources.articles;
        # ``from sources.models import Article`` imports sources.models.
        submodules = {f"{imported.target}.{name}" for name in imported.names} & modules
        targets = submodules or ({imported.target} & modules)
        graph[imported.module] |= targets - {imported.module}
    return graph


def module_graph(app: str) -> dict[str, set[str]]:
    return graph_of({module_name(path) for path in app_files(app)}, app_imports(app))


def cycles_in(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Every elementary cycle, each once: from its smallest module, in the order the imports go."""
    cycles = []
    for start in sorted(graph):
        stack: list[list[str]] = [[start]]
        while stack:
            path = stack.pop()
            for following in graph[path[-1]]:
                if following == start:
                    cycles.append(tuple(path))
                elif following > start and following not in path:
                    stack.append([*path, following])
    return sorted(cycles)


def describe(cycle: tuple[str, ...]) -> str:
    return " -> ".join([*cycle, cycle[0]])


@pytest.mark.parametrize("app", apps_present())
def test_it_keeps_each_app_to_the_imports_the_design_allows(app: str) -> None:
    unexpected = [
        f"{module} (line {line}) imports {package}"
        for module, package, line in forbidden_in(app, app_imports(app))
        if (module, package) not in ALLOWED_LAYER_VIOLATIONS
    ]
    assert not unexpected, f"{app} may not import {', '.join(sorted(FORBIDDEN[app]))}:\n" + "\n".join(unexpected)


@pytest.mark.parametrize("app", apps_present())
def test_it_finds_no_import_cycle_between_the_modules_of_an_app(app: str) -> None:
    cycles = [cycle for cycle in cycles_in(module_graph(app)) if tuple(sorted(cycle)) not in ALLOWED_CYCLES]
    assert not cycles, f"{len(cycles)} import cycle(s) in {app}:\n" + "\n".join(map(describe, cycles))


def test_it_lists_no_allowed_violation_that_is_gone() -> None:
    # The allow-lists only shrink: an entry whose violation was fixed is removed with the fix.
    violations = {
        (module, package) for app in apps_present() for module, package, _line in forbidden_in(app, app_imports(app))
    }
    cycles = {tuple(sorted(cycle)) for app in apps_present() for cycle in cycles_in(module_graph(app))}
    assert not ALLOWED_LAYER_VIOLATIONS - violations, sorted(ALLOWED_LAYER_VIOLATIONS - violations)
    assert not ALLOWED_CYCLES - cycles, sorted(ALLOWED_CYCLES - cycles)


def test_it_catches_an_import_inside_a_function_and_the_cycle_it_dodges() -> None:
    # The checks above pass on a clean tree; this shows they fail on the faults they exist for.
    services = "from django.conf import settings\n\n\ndef later():\n    from sources.ratings import policy\n"
    ratings = "from sources import services\n"
    imports = [
        *imports_in(services, module="sources.services"),
        *imports_in(ratings, module="sources.ratings"),
        *imports_in("def f():\n    from stories.models import Story\n", module="sources.probe"),
    ]
    assert forbidden_in("sources", imports) == [("sources.probe", "stories", 2)]
    graph = graph_of({"sources.services", "sources.ratings", "sources.probe"}, imports)
    assert cycles_in(graph) == [("sources.ratings", "sources.services")]


def test_it_resolves_relative_imports_and_reads_past_type_only_ones() -> None:
    assert next(imports_in("from .models import Outlet\n", module="sources.api.views")).target == "sources.api.models"
    assert next(imports_in("from . import views\n", module="sources.api", is_package=True)).target == "sources.api"
    querysets = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from stories.models import Story\n"
    models = "from stories.querysets import StoryQuerySet\n"
    imports = [*imports_in(querysets, module="stories.querysets"), *imports_in(models, module="stories.models")]
    assert cycles_in(graph_of({"stories.models", "stories.querysets"}, imports)) == []
    # A type-only import still counts against the layers: sources may not even name a story.
    assert forbidden_in("sources", imports_in(querysets, module="sources.querysets")) == [
        ("sources.querysets", "stories", 3)
    ]
    assert cycles_in({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [("a", "b", "c")]
    assert cycles_in({"a": {"b"}, "b": {"a", "c"}, "c": {"b"}}) == [("a", "b"), ("b", "c")]
