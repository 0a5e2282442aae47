"""A simulated worker for the rules tests: many sources, disorder, duplicates, partitions.

What ``Simulation`` does with the valid records of an event file (in file
order, which is event-time order):

1. assigns each record to one of ``sources_per_feed`` random sources of its
   feed (``checkpoint_scan/0`` ...), as producers spread records over topic
   partitions;
2. copies a share of the events (``duplicate_rate``) into a random source of
   the same feed: exact duplicates from upstream;
3. shuffles each source within 5-minute slices of event time: disorder well
   inside the allowed lateness (10 minutes);
4. turns each source into per-partition streams the way ingest will: each
   record's envelopes (event copies routed by family and key, reference
   records broadcast), then a watermark marker to every partition; an idle
   marker at the end;
5. interleaves the sources into each partition keeping each source's own
   order: ``interleave="random"`` picks any order (every interleaving equally
   likely: a sparse source may deliver its last record at the very end);
   ``"timed"`` delivers each record at its slice's start plus a per-source
   lag (0-120 s) and jitter (0-60 s), as consumers reading in real time do;
   a source is marked idle after a record followed by 10 minutes of silence,
   and reference sources (compacted topics read to their end) after each
   record.

``run`` feeds fresh engines; ``run_with_crash`` snapshots every engine in the
middle, keeps going to a later crash point, then restores the snapshot (via
JSON text) and replays from an offset before the snapshot, as a worker that
committed its input offsets before saving its state would.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rules import Engine, RulesConfig, partition_for, route
from schemas import Rejected, decode
from schemas.alerts import Alert
from schemas.clean import (
    CleanEvent,
    Envelope,
    EventRecord,
    Idle,
    ReferenceRecord,
    Watermark,
    pseudonymise,
)
from schemas.feeds import RiskArea, Venue
from tests.unit.rules_support import KEY

SLICE_S = 300
IDLE_AFTER_S = 600


def clean_file(path: Path, malformed: set[int]) -> list[CleanEvent]:
    """Every valid line of an event file (1-based numbers in ``malformed`` skipped)."""
    out: list[CleanEvent] = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if number in malformed or not line.strip():
                continue
            decoded = decode(line.rstrip(b"\n"))
            assert not isinstance(decoded, Rejected), (number, decoded)
            out.append(pseudonymise(decoded, KEY))
    return out


def _slice(event: CleanEvent) -> int:
    return int(event.event_time.timestamp()) // SLICE_S


@dataclass
class Simulation:
    """One random spreading of a scenario over sources and partitions; see the module doc."""

    events: Sequence[CleanEvent]
    seed: int
    partitions: int
    sources_per_feed: int = 6
    duplicate_rate: float = 0.01
    interleave: str = "random"
    config: RulesConfig | None = None

    def sources(self) -> dict[str, list[CleanEvent]]:
        """Steps 1-3: the records of each source, in the order it delivers them."""
        rng = random.Random(self.seed)  # noqa: S311 - simulation, not a secret
        sources: dict[str, list[CleanEvent]] = {}
        for event in self.events:
            name = f"{event.feed}/{rng.randrange(self.sources_per_feed)}"
            sources.setdefault(name, []).append(event)
            if not isinstance(event, RiskArea | Venue) and rng.random() < self.duplicate_rate:
                other = f"{event.feed}/{rng.randrange(self.sources_per_feed)}"
                sources.setdefault(other, []).append(event)
        for records in sources.values():
            slices: dict[int, list[CleanEvent]] = {}
            for event in records:
                slices.setdefault(_slice(event), []).append(event)
            records.clear()
            for number in sorted(slices):
                group = slices[number]
                rng.shuffle(group)
                records.extend(group)
        return sources

    def _per_partition(
        self, name: str, records: list[CleanEvent], rng: random.Random
    ) -> list[list[tuple[float, Envelope]]]:
        """Step 4 for one source: per partition, (arrival key, envelope) in source order."""
        parts: list[list[tuple[float, Envelope]]] = [[] for _ in range(self.partitions)]
        lag, arrival, arrivals = rng.uniform(0, 120), 0.0, []
        for event in records:
            arrival = max(arrival, _slice(event) * SLICE_S + lag + rng.uniform(0, 60))
            arrivals.append(arrival)
        highest: datetime | None = None
        for n, event in enumerate(records):
            arrival = arrivals[n]
            if isinstance(event, RiskArea | Venue):
                for part in parts:
                    part.append((arrival, ReferenceRecord(name, event)))
            else:
                for family, key in route(event, self.config):
                    p = partition_for(family, key, self.partitions)
                    parts[p].append((arrival, EventRecord(name, family, key, event)))
            if highest is None or event.event_time > highest:
                highest = event.event_time
            silent = n + 1 < len(records) and arrivals[n + 1] - arrival > IDLE_AFTER_S
            reference = isinstance(event, RiskArea | Venue)
            for part in parts:
                part.append((arrival, Watermark(name, highest)))
                if self.interleave == "timed" and (silent or reference):
                    part.append((arrival, Idle(name)))
        for part in parts:
            part.append((arrival, Idle(name)))
        return parts

    def streams(self) -> list[list[Envelope]]:
        """Steps 4-5: what each engine partition receives, in order."""
        rng = random.Random(self.seed + 1)  # noqa: S311 - simulation, not a secret
        per_source = [self._per_partition(n, r, rng) for n, r in sorted(self.sources().items())]
        streams: list[list[Envelope]] = []
        for p in range(self.partitions):
            lists = [parts[p] for parts in per_source]
            if self.interleave == "timed":
                merged = sorted(
                    (
                        (key, i, j, env)
                        for i, items in enumerate(lists)
                        for j, (key, env) in enumerate(items)
                    ),
                    key=lambda item: item[:3],
                )
                streams.append([env for *_, env in merged])
                continue
            order = [i for i, items in enumerate(lists) for _ in items]
            rng.shuffle(order)
            positions = [0] * len(lists)
            stream: list[Envelope] = []
            for i in order:
                stream.append(lists[i][positions[i]][1])
                positions[i] += 1
            streams.append(stream)
        return streams

    def run(self) -> list[Alert]:
        """Every partition's alerts, from fresh engines."""
        alerts: list[Alert] = []
        for stream in self.streams():
            alerts.extend(Engine(self.config).feed_all(stream))
        return alerts

    def run_with_crash(self) -> tuple[list[Alert], list[Alert]]:
        """Alerts of a run where every engine crashes once (see the module docstring),
        and the alerts raised between each snapshot and its crash (lost with the crash,
        so raised again after the restore)."""
        rng = random.Random(self.seed + 2)  # noqa: S311 - simulation, not a secret
        alerts: list[Alert] = []
        lost: list[Alert] = []
        for stream in self.streams():
            snap_at = rng.randrange(len(stream) // 3, 2 * len(stream) // 3)
            crash_at = min(len(stream), snap_at + rng.randrange(1, len(stream) // 6 + 2))
            replay_from = max(0, snap_at - rng.randrange(0, 200))
            engine = Engine(self.config)
            alerts.extend(engine.feed_all(stream[:snap_at]))
            text = json.dumps(engine.snapshot())
            before_crash = engine.feed_all(stream[snap_at:crash_at])
            alerts.extend(before_crash)
            lost.extend(before_crash)
            restored = Engine.restore(json.loads(text), self.config)
            alerts.extend(restored.feed_all(stream[replay_from:]))
        return alerts, lost
