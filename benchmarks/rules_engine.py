"""Rules engine rate: decode, pseudonymise, route and ``rules.Engine`` against ``json.loads``.

Run ``.venv/bin/python benchmarks/rules_engine.py [--events N] [--repeat R]``.
Generates a one-hour scenario of about N lines (``streams.devtools.scenario``), then times,
over the same lines, best of R runs interleaved, one core:

- ``json.loads`` alone (a consumer that only parses);
- ``decode`` (``schemas.decode``);
- ingest: decode, pseudonymise, route and build the envelopes, keeping nothing;
- the whole path on one core: the same, feeding one ``Engine`` every copy, a
  watermark marker every 100 records and idle markers at the end;
- the engine alone (route and ``Engine`` over events already clean);
- the engine topic: ``dump_envelope`` and ``load_envelope`` of every event copy
  (what the worker adds between ingest and the engine when they are split).

``--gc-threshold N`` sets the collector's first threshold first (CPython's default
is 700): the engine keeps ten minutes of events alive, and the default makes the
collector walk them again and again. ``--tune-gc`` calls ``rules.tune_gc()`` (what
the worker should do) after generating the scenario instead. The worker's target is >= 50% of the
``json.loads`` rate end to end.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rules import Engine, RulesConfig, default_config, route, tune_gc
from schemas.clean import (
    CleanEvent,
    EventRecord,
    Idle,
    ReferenceRecord,
    Watermark,
    dump_envelope,
    load_envelope,
    pseudonymise,
)
from schemas.decode import Rejected, decode
from schemas.feeds import RiskArea, Venue
from streams.devtools.scenario import ScenarioOptions, generate_to

__all__ = ["main"]

_KEY = b"benchmark-key"
_EVENTS, _REFERENCE = "feeds/0", "ref/0"


def _loads(lines: Sequence[bytes]) -> int:
    count = 0
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            continue
        count += 1
    return count


def _decode(lines: Sequence[bytes]) -> int:
    return sum(1 for line in lines if not isinstance(decode(line), Rejected))


def _clean(lines: Sequence[bytes]) -> list[CleanEvent]:
    out: list[CleanEvent] = []
    for line in lines:
        event = decode(line)
        if not isinstance(event, Rejected):
            out.append(pseudonymise(event, _KEY))
    return out


def _cleaned(lines: Sequence[bytes]) -> Iterator[CleanEvent]:
    for line in lines:
        event = decode(line)
        if not isinstance(event, Rejected):
            yield pseudonymise(event, _KEY)


def _ingest(lines: Sequence[bytes], config: RulesConfig) -> int:
    copies = 0
    for event in _cleaned(lines):
        if isinstance(event, RiskArea | Venue):
            ReferenceRecord(_REFERENCE, event)
            continue
        for family, key in route(event, config):
            EventRecord(_EVENTS, family, key, event)
            copies += 1
    return copies


def _topic(events: Iterable[CleanEvent], config: RulesConfig) -> int:
    copies = 0
    for event in events:
        if isinstance(event, RiskArea | Venue):
            continue
        for family, key in route(event, config):
            load_envelope(dump_envelope(EventRecord(_EVENTS, family, key, event)))
            copies += 1
    return copies


def _engine(events: Iterable[CleanEvent], config: RulesConfig) -> Engine:
    engine = Engine(config, sources=[_EVENTS, _REFERENCE])
    feed = engine.feed
    highest: datetime | None = None
    for n, event in enumerate(events):
        if isinstance(event, RiskArea | Venue):
            feed(ReferenceRecord(_REFERENCE, event))
            feed(Watermark(_REFERENCE, event.event_time))
            feed(Idle(_REFERENCE))
            continue
        for family, key in route(event, config):
            feed(EventRecord(_EVENTS, family, key, event))
        if highest is None or event.event_time > highest:
            highest = event.event_time
        if n % 100 == 99:
            feed(Watermark(_EVENTS, highest))
    if highest is not None:
        feed(Watermark(_EVENTS, highest))
    feed(Idle(_EVENTS))
    return engine


def _best(stages: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    best = dict.fromkeys(stages, float("inf"))
    for _ in range(repeat):
        for name, stage in stages.items():
            start = time.perf_counter()
            stage()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


@click.command()
@click.option("--events", default=100_000, show_default=True, help="Lines to generate.")
@click.option("--repeat", default=3, show_default=True, help="Runs; the best counts.")
@click.option("--gc-threshold", default=0, help="Set gc's first threshold (0: leave it).")
@click.option("--tune-gc", "tune_gc_", is_flag=True, help="Call rules.tune_gc() before timing.")
def main(events: int, repeat: int, gc_threshold: int, tune_gc_: bool) -> None:
    """Print lines/s of each stage and its share of the json.loads rate."""
    if gc_threshold:
        gc.set_threshold(gc_threshold, 20, 100)
    config = default_config()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.jsonl"
        generate_to(path, ScenarioOptions(seed=7, duration_s=3600, rate=events / 3600))
        lines = path.read_bytes().splitlines()
    if tune_gc_:
        tune_gc()
    clean = _clean(lines)
    engine = _engine(clean, config)
    stages: dict[str, Callable[[], object]] = {
        "json.loads": lambda: _loads(lines),
        "decode": lambda: _decode(lines),
        "ingest (+pseudonymise+route)": lambda: _ingest(lines, config),
        "whole path (+engine)": lambda: _engine(_cleaned(lines), config),
        "engine alone (route+engine)": lambda: _engine(clean, config),
        "engine topic (dump+load)": lambda: _topic(clean, config),
    }
    seconds = _best(stages, repeat)
    click.echo(
        f"{len(lines):,} lines, {engine.stats.events:,} event copies, best of {repeat}, "
        f"gc thresholds {gc.get_threshold()}"
    )
    base = len(lines) / seconds["json.loads"]
    for name, spent in seconds.items():
        rate = len(lines) / spent
        click.echo(f"{name:<30} {rate:>10,.0f} lines/s  ({rate / base:.0%} of json.loads)")


if __name__ == "__main__":
    main()
