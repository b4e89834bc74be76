"""Research stays in the lab: no app imports ``lab`` (training, experiments, benchmarks) or the
libraries only training needs, so the product runs on requirements/base.txt alone."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not the product: the lab itself, and the tests (which test the lab too).
OUTSIDE_THE_PRODUCT = {"lab", "tests"}
# Imported by the lab only (requirements/lab.txt). The old top-level bench/ is the lab's now.
LAB_ONLY = {"lab", "bench", "sklearn", "scipy"}


def product_modules() -> list[Path]:
    """Every Python file of the project's packages (the apps, the Django project), migrations included."""
    packages = [
        folder
        for folder in sorted(ROOT.iterdir())
        if (folder / "__init__.py").exists() and folder.name not in OUTSIDE_THE_PRODUCT
    ]
    return [path for package in packages for path in sorted(package.rglob("*.py"))]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_it_keeps_training_and_benchmarks_out_of_the_product() -> None:
    modules = product_modules()
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & LAB_ONLY)
        for path in modules
        if imported_roots(path) & LAB_ONLY
    }

    assert {path.parts[len(ROOT.parts)] for path in modules} >= {"sources", "analysis", "stories", "newsroom"}
    assert offending == {}
