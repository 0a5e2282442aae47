"""The repository stands alone: nothing in it points at a file outside it.

The contracts it was built from live in ``docs/feeds.md`` and
``docs/domain.md``; a reference to the planning folder that sat beside
the first checkout, or to its files, would send a reader to nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".git", ".venv", ".stack", ".mypy_cache", ".ruff_cache", ".pytest_cache", "node_modules"}
TEXT = {".py", ".md", ".toml", ".txt", ".yml", ".yaml", ".cfg", ".ini", ".json", ".sh", ""}
# Patterns, not literals, so this file does not match itself.
OUTSIDE = re.compile(
    r"\.\./shared\b|\bshared/(?:feeds|domain|style)\.md|known[-_]pitfalls|seed[-_]report"
)


def _files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part in SKIP or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in TEXT:
            found.append(path)
    return found


def test_no_file_points_outside_the_repository() -> None:
    hits = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in _files()
        for match in OUTSIDE.finditer(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert hits == []


def test_the_contracts_are_in_the_repository() -> None:
    feeds = (ROOT / "docs" / "feeds.md").read_text(encoding="utf-8")
    domain = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    for feed in ("checkpoint_scan", "venue_scan", "patrol_event", "risk_area", "venue"):
        assert f"## `{feed}`" in feeds
    assert domain.count("\n| `") == 15  # the rules
    assert domain.count("\n  | `") == 6  # the five checkpoints and the bus station
