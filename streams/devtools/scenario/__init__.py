"""Scenario generator: seeded epidemic-control feeds with labelled anomalies.

    from streams.devtools.scenario import ScenarioOptions, generate_to
    summary = generate_to("out.jsonl", ScenarioOptions(seed=7, duration_s=26 * 3600))

Used by ``controlfeed generate`` (``streams.cli.generate``), the benchmarks
and the tests. docs/scenarios.md describes the output and the labels.
"""

from streams.devtools.scenario.engine import Progress, Summary, generate_to
from streams.devtools.scenario.options import (
    ScenarioError,
    ScenarioOptions,
    labels_path_for,
    parse_duration,
    parse_start,
)

__all__ = [
    "Progress",
    "ScenarioError",
    "ScenarioOptions",
    "Summary",
    "generate_to",
    "labels_path_for",
    "parse_duration",
    "parse_start",
]
