"""The layout's rules that the layer contract of ``make lint`` does not cover.

``lint-imports`` (``[tool.importlinter]`` in pyproject.toml) checks which layer
may import which; these check that no two modules import each other, even
through a chain or a function-local import; that a module stays small enough
to read unless it says why not; that docs/architecture.md names every part
of ``streams/``; and that every module name the docs and docstrings quote
(```streams.kafka.stage.Stage```) still names something after a move.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import subprocess
from pathlib import Path

import grimp

from streams.settings import PROJECT_ROOT

PACKAGES = ("streams", "schemas", "sinks", "rules")
MAX_LINES = 400
REASON = "Over 400 lines:"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The import graph's strongly connected components of more than one module (Tarjan)."""
    adjacent = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in adjacent[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(adjacent):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES)
    assert _cycles(graph) == [], "import cycles (break them: the factory above the parts)"


def test_the_cycle_finder_sees_a_cycle() -> None:
    """Negative control: a graph with a cycle is reported."""
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]


def _sources() -> list[Path]:
    return sorted(p for name in PACKAGES for p in (PROJECT_ROOT / name).rglob("*.py"))


def test_a_long_module_says_why_in_its_docstring() -> None:
    long = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES and REASON not in (
            ast.get_docstring(ast.parse(text)) or ""
        ):
            long.append(f"{path.relative_to(PROJECT_ROOT)} ({text.count(chr(10))} lines)")
    assert long == [], f"split these, or give the reason in a docstring line '{REASON} ...'"


def test_the_architecture_map_names_every_part_of_streams() -> None:
    doc = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    parts = [
        p.name if p.is_dir() else p.stem
        for p in (PROJECT_ROOT / "streams").iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file())
        or (p.suffix == ".py" and p.stem != "__init__")
    ]
    missing = [
        name
        for name in sorted(parts)
        if f"streams/{name}" not in doc and f"streams.{name}" not in doc
    ]
    assert missing == [], "docs/architecture.md does not say what these own"


_QUOTED = re.compile(r"`+((?:streams|schemas|rules|sinks)(?:\.\w+)+)`+")
_FILE_ENDINGS = ("md", "py", "toml", "json", "yml", "yaml")


def _unresolved(name: str) -> bool:
    """Whether the dotted ``name`` names nothing: its longest importable prefix lacks the
    next part as an attribute, a pydantic field or an annotation (deeper parts are not
    followed). A file name (``rules.md``) is not a module name."""
    parts = name.split(".")
    if parts[-1] in _FILE_ENDINGS:
        return False
    for end in range(len(parts), 0, -1):
        module = ".".join(parts[:end])
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            continue
        if end == len(parts):
            return False
        owner = importlib.import_module(module)
        first = parts[end]
        if hasattr(owner, first):
            return False
        return first not in getattr(owner, "__annotations__", {})
    return True


def _quoted_names() -> list[tuple[str, str]]:
    """(file, name) of every dotted name of ours quoted in a tracked doc or source file."""
    listed = subprocess.run(
        ["git", "ls-files", "*.md", "*.py"], cwd=PROJECT_ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.split()  # fmt: skip
    found = []
    for name in listed:
        if name == "CHANGELOG.md" or name.startswith("data/"):
            continue  # the changelog speaks of names as they were
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8", errors="replace")
        found += [(name, m.group(1)) for m in _QUOTED.finditer(text)]
    return found


def test_every_quoted_module_name_names_something() -> None:
    stale = sorted({f"{file}: {name}" for file, name in _quoted_names() if _unresolved(name)})
    assert stale == [], "these names moved or went: write the new one"


def test_the_name_check_sees_a_stale_name() -> None:
    """Negative control: names from before the layout change are caught, today's pass."""
    assert _unresolved("streams.worker.deadletter")
    assert _unresolved("streams.kafka.Stage")
    assert not _unresolved("streams.kafka.stage.Stage")
    assert not _unresolved("schemas.alerts.Alert.alert_id")
    assert not _unresolved("rules.md")
