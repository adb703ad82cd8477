"""The layers: which package may import which, no cycles, typed stages.

The dependency direction is one way: cli and flows -> pipeline -> parsers, transport,
store, audit -> records. Every import counts (inside functions and under TYPE_CHECKING
too): a lazy import does not make a dependency go away.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import typing
from pathlib import Path

import pytest

import edi

PACKAGE = Path(edi.__file__).parent

#: package -> the packages it must never import
FORBIDDEN = {
    "records": {"parsers", "store", "audit", "pipeline", "flows", "cli", "transport", "query"},
    "parsers": {"store", "audit", "pipeline", "flows", "cli", "transport", "query"},
    "transport": {"store", "parsers", "records", "audit", "pipeline", "flows", "cli"},
    "store": {"parsers", "audit", "pipeline", "flows", "cli", "transport", "query"},
    "audit": {"parsers", "pipeline", "flows", "cli", "query", "transport"},
    "query": {"pipeline", "flows", "cli", "audit"},
    "pipeline": {"flows", "cli"},
    "flows": {"cli", "store", "parsers", "audit", "records", "query"},
}

#: the pipeline's stage modules: no parameter or result typed Any
STAGES = ("validate", "acknowledge", "parse", "store", "ingest", "exchange", "bootstrap")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def import_graph() -> dict[str, dict[str, set[str]]]:
    """package -> imported package -> the modules that import it."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts or "_data" in path.parts:
            continue
        module = _module_name(path)
        source = _package(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.startswith("edi."):
                    target = _package(name)
                    if target != source:
                        graph.setdefault(source, {}).setdefault(target, set()).add(module)
    return graph


def test_the_walk_sees_the_packages() -> None:
    graph = import_graph()
    assert {"pipeline", "store", "parsers", "cli", "flows"} <= set(graph)
    assert "store" in graph["pipeline"] and "parsers" in graph["pipeline"]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_against_the_direction(package: str) -> None:
    graph = import_graph()
    wrong = {
        target: sorted(modules)
        for target, modules in graph.get(package, {}).items()
        if target in FORBIDDEN[package]
    }
    assert wrong == {}, f"edi.{package} imports against the layers: {wrong}"


def test_no_cycle_between_packages() -> None:
    graph = {source: set(targets) for source, targets in import_graph().items()}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif len(path) < len(graph) + 1:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert cycles == []


def _mentions_any(hint: object) -> bool:
    if hint is typing.Any:
        return True
    return any(_mentions_any(arg) for arg in typing.get_args(hint))


@pytest.mark.parametrize("stage", STAGES)
def test_the_pipelines_stages_take_and_return_no_any(stage: str) -> None:
    module = importlib.import_module(f"edi.pipeline.{stage}")
    functions = [
        fn
        for name, fn in vars(module).items()
        if inspect.isfunction(fn) and fn.__module__ == module.__name__ and not name.startswith("__")
    ]
    assert functions
    untyped = {
        fn.__name__: name
        for fn in functions
        for name, hint in typing.get_type_hints(fn).items()
        if _mentions_any(hint)
    }
    assert untyped == {}
