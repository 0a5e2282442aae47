"""``sinks``' modules import each other without a cycle, function-local imports included.

The interface (``sinks.store``) knows no backend; ``sinks.factory`` sits above
``sinks.server`` and ``sinks.embedded`` and picks one. A cycle held together
by an import inside a function would pass every other test, so this one reads
the sources.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sinks

PACKAGE = Path(sinks.__file__).parent


def _module(path: Path) -> str:
    return "sinks" if path.stem == "__init__" else f"sinks.{path.stem}"


def _imports(path: Path) -> set[str]:
    """The ``sinks`` modules ``path`` imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "sinks")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "sinks":  # `from sinks import x`: a submodule or the package
                found.update(
                    f"sinks.{a.name}" if (PACKAGE / f"{a.name}.py").exists() else "sinks"
                    for a in node.names
                )
            elif node.module.split(".")[0] == "sinks":
                found.add(node.module)
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(path): _imports(path) for path in sorted(PACKAGE.glob("*.py"))}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as the modules along it, or ``[]`` when there is none."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        for imported in sorted(graph.get(module, ())):
            found = visit(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return []

    for module in sorted(graph):
        found = visit(module, [])
        if found:
            return found
    return []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_no_module_of_sinks_imports_one_that_imports_it_back() -> None:
    graph = _graph()
    assert _cycle(graph) == [], " -> ".join(_cycle(graph))
    assert {"sinks.server", "sinks.embedded"} <= graph["sinks.factory"]


def test_the_store_interface_imports_no_backend() -> None:
    assert _imports(PACKAGE / "store.py") == set()
