"""Per-source progress of the ingest stage: when to send watermark and idle markers.

A *source* is one input topic-partition, named ``topic/partition``. The
ingest agent calls ``seen`` for every record it forwards; the worker's timer
calls ``due_watermarks`` and ``idle_candidates`` a few times a second and
sends the markers they return to every engine partition (``docs/worker.md``).

Idleness: a source is idle when it is *caught up* (the next offset to read
equals the partition's end offset) and *silent* (nothing read for
``silence_s``, 1.5 s by default). Caught up alone is not enough (a producer
may be between two records); silent alone is not enough (the consumer may be
behind, busy with other partitions). A partition from which nothing was read
since the worker started counts as caught up once it has been silent for
``2 * silence_s``: the consumer fetches every assigned partition, so one with
records left would have delivered some by then (its position is not asked for:
Faust's consumer runs in its own thread). Under a heavy backlog this may call a
partition idle too early; its first records may then be judged late (``docs/worker.md``).
Pure Python over monotonic seconds; never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["SourceProgress", "SourceTracker"]


@dataclass
class SourceProgress:
    """What ingest knows of one source."""

    max_time: datetime | None = None
    """Highest event time forwarded from this source."""
    sent_time: datetime | None = None
    """Highest event time announced in a watermark marker."""
    next_offset: int | None = None
    """Offset after the last record read; None before the first."""
    last_read: float = 0.0
    """Monotonic time of the last record read (or of the start)."""
    idle: bool = False
    """Whether an idle marker was sent and no record came since."""
    fresh: bool = True
    """No watermark marker sent since tracking began: the engines may hold the source
    idle (its previous reader said so), so one is sent before its first event."""


class SourceTracker:
    """The progress of every source this worker reads; see the module docstring."""

    def __init__(self, silence_s: float = 1.5) -> None:
        """``silence_s``: how long a caught-up source must be silent to be idle."""
        self.silence_s = silence_s
        self.sources: dict[str, SourceProgress] = {}
        self.first_read: float | None = None
        """Monotonic time of the first record read from any source; None before."""

    def start(self, source: str, now: float) -> None:
        """Track ``source`` from ``now`` (called on partition assignment); idempotent."""
        self.sources.setdefault(source, SourceProgress(last_read=now))

    def forget(self, sources: list[str]) -> None:
        """Stop tracking ``sources`` (revoked, or rewound: ``start`` tracks them afresh)."""
        for source in sources:
            self.sources.pop(source, None)

    def seen(self, source: str, offset: int, time: datetime | None, now: float) -> None:
        """Record one record read from ``source`` (``time`` None: a dead letter)."""
        progress = self.sources.setdefault(source, SourceProgress())
        if self.first_read is None:
            self.first_read = now
        progress.next_offset = offset + 1
        progress.last_read = now
        if progress.idle and time is None:  # a dead letter: the next tick announces it
            progress.sent_time = None
        progress.idle = False
        if time is not None and (progress.max_time is None or time > progress.max_time):
            progress.max_time = time

    def due_watermarks(self) -> list[tuple[str, datetime]]:
        """``(source, time)`` of every source whose highest time moved since its last marker.

        The caller sends the markers and then calls ``sent``.
        """
        return [
            (name, p.max_time)
            for name, p in self.sources.items()
            if p.max_time is not None and (p.sent_time is None or p.max_time > p.sent_time)
        ]

    def sent(self, source: str, time: datetime) -> None:
        """Note that a watermark marker for ``time`` went out for ``source``."""
        progress = self.sources[source]
        progress.sent_time = time
        progress.fresh = False

    def idle_candidates(self, now: float) -> list[str]:
        """Sources silent long enough to ask for their end offsets (not yet idle).

        Nothing is a candidate before the first record is read from any source:
        a source idle before a burst would not hold the watermark while the
        burst's other sources run ahead of it.
        """
        if self.first_read is None:
            return []
        return [
            name
            for name, p in self.sources.items()
            if not p.idle and now - max(p.last_read, self.first_read) >= self._silence(p)
        ]

    def is_caught_up(self, source: str, end_offset: int | None, position: int | None) -> bool:
        """Whether ``source`` has read up to ``end_offset`` (None: unknown, not caught up).

        ``position`` (the group's committed offset) decides for a source nothing
        was read from since the start; after a record, the offset after it does.
        """
        if end_offset is None:
            return False
        progress = self.sources[source]
        if progress.next_offset is None:
            return position is not None and position >= end_offset
        return progress.next_offset >= end_offset

    def waiting(self, source: str, end_offset: int | None) -> bool:
        """Whether an idle ``source`` that was read from has records waiting in Kafka."""
        progress = self.sources[source]
        if not progress.idle or progress.next_offset is None or end_offset is None:
            return False
        return end_offset > progress.next_offset

    def mark_idle(self, source: str) -> None:
        """Note that an idle marker went out for ``source``."""
        self.sources[source].idle = True

    def _silence(self, progress: SourceProgress) -> float:
        return self.silence_s if progress.next_offset is not None else 2 * self.silence_s
