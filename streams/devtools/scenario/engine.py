"""``generate_to``: one scenario, from options to an event file and its labels.

Called by ``controlfeed generate`` and by anything that wants a scenario from
Python (benchmarks, tests). Steps: build the world; plan the reference records,
the anomalies, the background patrols and the malformed lines; write the file
window by window; derive the expected alerts; write the labels. Deterministic:
every random choice comes from a ``random.Random`` seeded from the options.
The path ``-`` is standard output (plain JSON Lines; the labels then go only
where ``labels`` says). The thresholds and places are those of a rules
configuration (the shipped defaults unless the caller passes one, as
``controlfeed generate --rules`` does), so the labels are the alerts a worker
with that configuration raises.
"""

from __future__ import annotations

import gzip
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rules import RulesConfig, default_config
from streams.devtools.scenario.anomalies import plan_anomalies
from streams.devtools.scenario.context import Context
from streams.devtools.scenario.labels import expected_alerts
from streams.devtools.scenario.labels_file import write_labels
from streams.devtools.scenario.malformed import plan_malformed
from streams.devtools.scenario.options import (
    ScenarioError,
    ScenarioOptions,
    labels_path_for,
    seeded,
)
from streams.devtools.scenario.patrol import plan_patrols
from streams.devtools.scenario.reference import plan_reference
from streams.devtools.scenario.tracked import Plan
from streams.devtools.scenario.traffic import Tables, expected_count, rhythm
from streams.devtools.scenario.world import build_world
from streams.devtools.scenario.writer import Writer

__all__ = ["STDOUT", "Progress", "Summary", "check_rules", "generate_to"]

STDOUT = Path("-")
"""The output path that means standard output."""

Progress = Callable[[int, int], None]
"""Called after each surge window (5 minutes) with (lines written, lines expected in all)."""


@dataclass
class Summary:
    """What ``generate_to`` wrote, and how fast."""

    out: Path
    labels: Path | None
    """Where the labels went; None when they were not written (output to stdout)."""
    lines: int
    bytes: int
    seconds: float
    """Wall time of the whole call, world building included."""
    events: dict[str, int] = field(default_factory=dict)
    """Valid records per feed (malformed lines not counted)."""
    alerts: dict[str, int] = field(default_factory=dict)
    """Expected alerts per ``rule/severity``."""
    malformed: dict[str, int] = field(default_factory=dict)
    """Malformed lines per reason."""
    anomalies: dict[str, int] = field(default_factory=dict)
    """Injections per kind."""

    @property
    def lines_per_second(self) -> float:
        """The generation rate: lines written per second of wall time."""
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    @property
    def events_per_second(self) -> float:
        """Valid records (all feeds) written per second of wall time."""
        return sum(self.events.values()) / self.seconds if self.seconds > 0 else 0.0


def check_rules(config: RulesConfig) -> None:
    """``ScenarioError`` for a rules configuration the generator cannot keep its promises
    under: background traffic must stay below every rule (docs/scenarios.md)."""
    th = config.thresholds
    problems = []
    if th.crowding_window_s % th.surge_window_s:
        problems.append(
            f"crowding_window_s ({th.crowding_window_s}) is not a multiple of surge_window_s "
            f"({th.surge_window_s}): the generator writes whole surge windows"
        )
    if "other" in th.medicine_categories:
        problems.append("medicine_categories lists 'other', which background purchases are")
    if th.impossible_travel_min_km < 2:
        problems.append(
            f"impossible_travel_min_km ({th.impossible_travel_min_km:g}) is below 2 km, the "
            "width of a grid background people stay in"
        )
    if not any(p.kind == "checkpoint" for p in config.places.values()):
        problems.append("there is no checkpoint among the places")
    if problems:
        raise ScenarioError(
            "the rules configuration cannot be generated for: " + "; ".join(problems),
            hint="Generate with the default thresholds (no --rules), or change these.",
        )


def _windows(options: ScenarioOptions, config: RulesConfig) -> list[tuple[int, int, float]]:
    """The surge windows (epoch-aligned) with their expected background scan counts."""
    start, end = options.start_ms, options.end_ms
    size = config.thresholds.surge_window_s * 1000
    bounds = [
        (max(start, k * size), min(end, (k + 1) * size))
        for k in range(start // size, (end - 1) // size + 1)
    ]
    shapes = [rhythm((a + b) // 2) * (b - a) for a, b in bounds]
    factor = options.rate * (end - start) / 1000 / sum(shapes)
    return [(a, b, factor * shape) for (a, b), shape in zip(bounds, shapes, strict=True)]


@contextmanager
def _open(path: Path) -> Iterator[BinaryIO]:
    if path == STDOUT:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    try:
        raw = path.open("wb")
    except OSError as err:
        raise ScenarioError(
            f"cannot write {path}: {err.strerror}",
            hint="Check that the folder exists and is writable.",
        ) from err
    with raw:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
                yield gz  # type: ignore[misc]
        else:
            yield raw


def _plan(
    options: ScenarioOptions, windows: list[tuple[int, int, float]], config: RulesConfig
) -> tuple[Context, dict[str, int]]:
    world = build_world(options, config)
    plan = Plan()
    rng = seeded("plan", options.seed)
    risk = plan_reference(plan, world, options, rng)
    ctx = Context(options, world, plan, risk, rng, config.thresholds)
    scans = sum(lam for _, _, lam in windows)
    anomalies = plan_anomalies(ctx, round(options.anomaly_rate * scans))
    plan_patrols(ctx)
    share = options.malformed_rate
    plan_malformed(ctx, round(share / (1 - share) * (scans + len(plan))), rng)
    return ctx, anomalies


def _write(
    ctx: Context, sink: BinaryIO, windows: list[tuple[int, int, float]], progress: Progress | None
) -> Writer:
    options, th = ctx.options, ctx.thresholds
    tables = Tables(ctx.world, options.seed, th)
    writer = Writer(sink, ctx.world, tables, ctx.plan, options.seed, th)
    counts = seeded("rhythm", options.seed)
    crowding = th.crowding_window_s * 1000
    blocked: dict[int, set[int]] = {}
    for venue, window in ctx.crowding_blocks:
        blocked.setdefault(window, set()).add(venue)
    expected = round(sum(lam for _, _, lam in windows) + len(ctx.plan))
    group = -1
    for start, end, lam in windows:
        if start // crowding != group:
            group = start // crowding
            writer.start_window((group + 1) * crowding, blocked.get(group, set()))
        writer.emit(start, end, expected_count(lam, counts))
        if progress is not None:
            progress(writer.lines, max(expected, writer.lines))
    return writer


def generate_to(
    path: str | Path,
    options: ScenarioOptions | None = None,
    progress: Progress | None = None,
    labels: Path | None = None,
    rules: RulesConfig | None = None,
) -> Summary:
    """Write the scenario of ``options`` to ``path`` (.jsonl or .jsonl.gz; ``-``: standard
    output) and its labels to ``labels``, by default beside it (``.labels.json``; none
    for standard output); returns counts and timing. ``rules`` gives the thresholds and
    places (the shipped defaults when omitted).

    Raises ``ScenarioError`` for a bad path or a rules configuration the generator cannot
    honour (``check_rules``); ``OSError`` if writing fails midway.
    """
    began = time.perf_counter()
    options = options or ScenarioOptions()
    config = rules or default_config()
    check_rules(config)
    out = Path(path)
    if labels is None and out != STDOUT:
        labels = labels_path_for(out)
    windows = _windows(options, config)
    ctx, anomalies = _plan(options, windows, config)
    with _open(out) as sink:
        writer = _write(ctx, sink, windows, progress)
    alerts = expected_alerts(
        writer.written, writer.alerts, writer.last_event_ms, config.thresholds, ctx.world
    )
    events = {**writer.events, **writer.references}
    try:
        if labels is not None:
            write_labels(labels, options, events, alerts, writer.malformed, config)
    except OSError as err:
        raise ScenarioError(
            f"cannot write {labels}: {err.strerror}", hint="Check that the folder is writable."
        ) from err
    size = writer.bytes if out == STDOUT else out.stat().st_size
    summary = Summary(out, labels, writer.lines, size, 0.0, events, {}, {}, anomalies)
    for alert in alerts:
        name = f"{alert.rule}/{alert.severity}"
        summary.alerts[name] = summary.alerts.get(name, 0) + 1
    for item in writer.malformed:
        summary.malformed[item.reason] = summary.malformed.get(item.reason, 0) + 1
    summary.seconds = time.perf_counter() - began
    return summary
