"""The labels file beside a generated event file (format in docs/scenarios.md).

Written by ``engine`` once the event file is complete. JSON, one alert or
malformed line per row so that diffs of a checked-in sample stay readable;
the same scenario always gives the same bytes. A scenario generated for a
rules configuration other than the defaults says what differs
(``generator.rules``), so its labels are never read against other thresholds
unawares.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from rules import RulesConfig, default_config
from schemas.catalogue import Names
from streams.devtools.scenario.expected import Expected
from streams.devtools.scenario.options import GENERATOR_VERSION, ScenarioOptions
from streams.devtools.scenario.tracked import Tracked

__all__ = ["FEEDS", "rules_differences", "write_labels"]

FEEDS = ("checkpoint_scan", "venue_scan", "patrol_event", "risk_area", "venue")


def _row(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _rows(name: str, rows: list[str]) -> str:
    if not rows:
        return f'  "{name}": []'
    return f'  "{name}": [\n' + ",\n".join("    " + row for row in rows) + "\n  ]"


def _json_value(value: Any) -> Any:
    """A threshold as JSON: names as a list in the file's order (sorted for a plain set)."""
    if isinstance(value, Names):
        return list(value)
    return sorted(value) if isinstance(value, frozenset) else value


def rules_differences(config: RulesConfig) -> dict[str, Any]:
    """What ``config`` changes from the shipped defaults: thresholds by name (their values)
    and the ids of places added, changed or gone; empty for the defaults."""
    defaults = default_config()
    ours, theirs = dataclasses.asdict(config.thresholds), dataclasses.asdict(defaults.thresholds)
    thresholds = {name: _json_value(value) for name, value in ours.items() if value != theirs[name]}
    places = sorted(
        pid
        for pid in config.places.keys() | defaults.places.keys()
        if config.places.get(pid) != defaults.places.get(pid)
    )
    return {
        **({"thresholds": thresholds} if thresholds else {}),
        **({"places": places} if places else {}),
    }


def write_labels(
    path: Path,
    options: ScenarioOptions,
    events: dict[str, int],
    alerts: list[Expected],
    malformed: list[Tracked],
    config: RulesConfig | None = None,
) -> None:
    """Write the labels of one scenario, generated for ``config`` (default: the shipped
    defaults), to ``path``."""
    generator: dict[str, Any] = {
        "name": "controlfeed generate",
        "version": GENERATOR_VERSION,
        "options": options.as_json(),
    }
    differences = rules_differences(config or default_config())
    if differences:
        generator["rules"] = differences
    parts = [
        f'  "generator": {_row(generator)}',
        f'  "events": {_row({feed: events.get(feed, 0) for feed in FEEDS})}',
        _rows("alerts", [_row(alert.as_json()) for alert in alerts]),
        _rows("malformed", [_row({"line": m.line, "reason": m.reason}) for m in malformed]),
    ]
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")
