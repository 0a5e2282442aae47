"""What the worker's stages counted, as plain data for ``streams.worker.exporting``.

``Ingest.take_counts`` (``streams.worker.ingest``) returns an ``IngestCounts``
per batch; the engine stage fills an ``EngineCounts`` per batch, with the late
events ``Engines.take_late`` (``streams.worker.engines``) counted. Both are
counted into plain ints and dicts on the hot path and exported once per
batch: a Prometheus sample takes a lock, a dict increment does not. Nothing
here knows Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["EngineCounts", "IngestCounts"]


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """What ingest handled since it was last asked (``Ingest.take_counts``)."""

    events: dict[str, tuple[int, float]] = field(default_factory=dict)
    """Valid events by feed: (count, the highest event time of the feed's sources in unix
    seconds). A feed without a known time (its sources forgotten meanwhile) is left out."""
    dead_letters: dict[str, int] = field(default_factory=dict)
    """Records sent to the dead-letter topic, by reason code (``wrong_topic`` included)."""


@dataclass(slots=True)
class EngineCounts:
    """What the engine stage did with one batch of engine-topic records."""

    records: int = 0
    """Engine-topic records the engines processed (replays included)."""
    replayed: int = 0
    """Of those, records processed again after a restore (their alerts were sent before)."""
    late: dict[str, int] = field(default_factory=dict)
    """Events late on arrival, by feed, each counted once (``Engines.take_late``)."""
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    """Alerts published, by (rule, severity)."""
    latencies: dict[str, list[float]] = field(default_factory=dict)
    """Detection latency of each alert published, in seconds, by detection path."""
