"""The labels file beside a generated event file (format in docs/scenarios.md).

Written by ``engine`` once the event file is complete. JSON, one alert or
malformed line per row so that diffs of a checked-in sample stay readable;
the same scenario always gives the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

from streams.devtools.scenario.expected import Expected
from streams.devtools.scenario.options import GENERATOR_VERSION, ScenarioOptions
from streams.devtools.scenario.tracked import Tracked

__all__ = ["FEEDS", "write_labels"]

FEEDS = ("checkpoint_scan", "venue_scan", "patrol_event", "risk_area", "venue")


def _row(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _rows(name: str, rows: list[str]) -> str:
    if not rows:
        return f'  "{name}": []'
    return f'  "{name}": [\n' + ",\n".join("    " + row for row in rows) + "\n  ]"


def write_labels(
    path: Path,
    options: ScenarioOptions,
    events: dict[str, int],
    alerts: list[Expected],
    malformed: list[Tracked],
) -> None:
    """Write the labels of one scenario to ``path``."""
    generator = {
        "name": "controlfeed generate",
        "version": GENERATOR_VERSION,
        "options": options.as_json(),
    }
    parts = [
        f'  "generator": {_row(generator)}',
        f'  "events": {_row({feed: events.get(feed, 0) for feed in FEEDS})}',
        _rows("alerts", [_row(alert.as_json()) for alert in alerts]),
        _rows("malformed", [_row({"line": m.line, "reason": m.reason}) for m in malformed]),
    ]
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")
