"""The folders are the architecture: an import goes down the layers, never up or sideways.

Read from the source (``ast``), nothing imported, so it takes a fraction of a second. The layers,
top first (``docs/architecture.md`` draws them):

* ``app/`` (the Streamlit pages), ``pipelines/``, ``settings.py``, ``pipeline_registry.py``
* ``serving/``
* ``kedro_io/``
* ``report/``
* ``core/``
* ``schema.py``, ``params.py``, ``demo_data.py`` and the package's ``__init__.py``

A module may import its own layer's modules and any layer below; ``core/`` and ``report/`` import
neither Kedro nor Streamlit, and nothing under ``src/`` imports Streamlit.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from conftest import PROJECT_ROOT

PACKAGE = "customer_segmentation"
SOURCE = PROJECT_ROOT / "src" / PACKAGE
APP = PROJECT_ROOT / "app"
# Top first; a module's layer is its first name under the package (or "app").
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"app", "pipelines", "settings", "pipeline_registry"}),
    frozenset({"serving"}),
    frozenset({"kedro_io"}),
    frozenset({"report"}),
    frozenset({"core"}),
    frozenset({"schema", "params", "demo_data", "__init__", "__main__"}),
)
DEPTH = {part: depth for depth, layer in enumerate(LAYERS) for part in layer}
# Third-party packages a layer must not import (its rules run without them).
FORBIDDEN = {
    "core": ("kedro", "kedro_datasets", "streamlit"),
    "report": ("kedro", "kedro_datasets", "streamlit"),
    "kedro_io": ("streamlit",),
    "serving": ("streamlit",),
    "pipelines": ("streamlit",),
}


def modules() -> Iterator[tuple[Path, str, list[str]]]:
    """Every module of the package and of the app: its path, its layer and the dotted name of
    its package (for relative imports).
    """
    for path in sorted(SOURCE.rglob("*.py")):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        layer = parts[0]
        package = [PACKAGE, *parts[:-1]]
        yield path, layer, package
    for path in sorted(APP.rglob("*.py")):
        yield path, "app", []


def imported(tree: ast.AST, package: list[str]) -> Iterator[tuple[int, str]]:
    """Each imported module's dotted name (``from x import y`` gives ``x.y`` and ``x``), with its
    line.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def layer_of(name: str) -> str | None:
    """The layer of an imported name of the package, ``None`` for another package's."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_is_in_a_layer():
    unplaced = sorted({layer for _, layer, _ in modules() if layer not in DEPTH})
    assert not unplaced, f"new top-level module(s) {unplaced}: give each a layer in LAYERS"


def test_imports_go_down_the_layers():
    upward = []
    for path, layer, package in modules():
        for line, name in imported(ast.parse(path.read_text(encoding="utf-8")), package):
            target = layer_of(name)
            if target in DEPTH and DEPTH[target] < DEPTH[layer]:
                where = path.relative_to(PROJECT_ROOT)
                upward.append(f"{where}:{line} ({layer}) imports {name} ({target})")
    assert not upward, "imports that go up a layer:\n" + "\n".join(sorted(set(upward)))


def test_the_domain_runs_without_kedro_or_streamlit():
    found = []
    for path, layer, package in modules():
        banned = FORBIDDEN.get(layer, ())
        for line, name in imported(ast.parse(path.read_text(encoding="utf-8")), package):
            if name.split(".")[0] in banned:
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{line} ({layer}) imports {name}")
    assert not found, "a layer imports a framework it must not:\n" + "\n".join(sorted(set(found)))
