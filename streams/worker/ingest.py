"""The ingest stage: one raw Kafka record in, what to send to Kafka out.

Called by the worker's ingest agent for every record of the five input
topics, in each partition's order. ``Ingest.handle`` decodes the value
(``schemas.decode``), turns bad input (and a valid event on another feed's
topic, ``wrong_topic``) into a dead letter that keeps the original key, value
and headers, pseudonymises scans with the HMAC key (raw ID and phone numbers
go no further), routes each event to its engine partitions
(``rules.route`` / ``rules.partition_for``), adds the record of its clean topic
(``schemas.downstream``) and broadcasts reference records.
Markers (``Watermark``, ``Idle``) are built by ``markers`` and ``idle``.
Pure Python, no metrics of its own: it counts the valid events of each feed
and the dead letters of each reason (``take_counts``, a
``streams.worker.counts.IngestCounts``) for the stage to export once per batch
(``streams.worker.exporting``). It never raises on bad input, and raises
``ValueError`` only for an empty key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from rules import RulesConfig, partition_for, route
from schemas.clean import (
    Envelope,
    Idle,
    ReferenceRecord,
    Watermark,
    dump_envelope,
    dump_event_copies,
    event_json,
    pseudonymise,
)
from schemas.decode import Rejected, decode
from schemas.downstream import downstream_record
from schemas.feeds import RiskArea, Venue
from schemas.reasons import WRONG_TOPIC
from streams.wire import dead_letter_headers, engine_key, source_name, source_topic
from streams.worker.counts import IngestCounts
from streams.worker.idleness import SourceTracker

__all__ = ["DeadLetterOut", "EngineOut", "Ingest", "RawRecord"]


class RawRecord(NamedTuple):
    """One record as read from an input topic (a tuple: made for every record read)."""

    topic: str
    """The input topic."""
    partition: int
    """Its partition."""
    offset: int
    """Its offset."""
    key: bytes | None
    """The original key (not trusted, kept for dead letters)."""
    value: bytes
    """The original value."""
    headers: list[tuple[str, bytes]]
    """The original headers."""
    timestamp: float | None = None
    """Its Kafka timestamp (seconds), carried to the engine records it becomes."""


@dataclass(frozen=True, slots=True)
class DeadLetterOut:
    """A record for the dead-letter topic: original key and value, headers extended."""

    key: bytes | None
    """The original key."""
    value: bytes
    """The original value, unchanged."""
    headers: list[tuple[str, bytes]]
    """The original headers plus ``controlfeed.error.*``."""


class EngineOut(NamedTuple):
    """A record for one partition of the engine topic (a tuple: made for every copy)."""

    partition: int
    """The engine partition."""
    key: bytes | None
    """``family:key`` for event copies (``streams.wire.engine_key``), None for markers and
    reference records."""
    value: bytes
    """The envelope's JSON (``schemas.clean.dump_envelope``)."""
    timestamp: float | None = None
    """The input record's Kafka timestamp (seconds) for event copies and reference
    records (header ``streams.wire.CAUSE_HEADER``: detection latency counts from
    the input); None for markers."""
    store: bool = False
    """The one copy of a record the sink stores (header ``wire.STORE_HEADER``): an event's
    copy for the first family of its route, a reference record's for partition 0."""
    topic: str | None = None
    """Not for the engine topic but for this one: the clean topic of the event's feed
    (``schemas.downstream``; ``partition`` -1: by key)."""


class Ingest:
    """Decode, dead-letter, pseudonymise and route; see the module docstring."""

    def __init__(
        self,
        feed_topics: dict[str, str],
        key: bytes,
        config: RulesConfig,
        partitions: int,
        tracker: SourceTracker,
        clean_topics: dict[str, str] | None = None,
    ) -> None:
        """``feed_topics``: topic of each feed; ``key``: the pseudonym secret;
        ``partitions``: engine-topic partitions; ``tracker``: shared with the timer;
        ``clean_topics``: the clean topic of each live feed (none: no clean records)."""
        if not key:
            raise ValueError("ingest needs a non-empty pseudonym key")
        self._feed_of = {topic: feed for feed, topic in feed_topics.items()}
        self._key = key
        self._config = config
        self._partitions = partitions
        self.tracker = tracker
        self._clean_topics = dict(clean_topics or {})
        self._events: dict[str, int] = {}
        self._dead_letters: dict[str, int] = {}

    def take_counts(self) -> IngestCounts:
        """What was handled since the last call: the valid events of each feed, with the
        highest event time of the feed's sources (from the tracker: comparing aware
        datetimes per event cost more than the rest of the counting), and the dead letters
        of each reason. The ingest stage exports them once per batch
        (``streams.worker.exporting.export_ingest``)."""
        latest: dict[str, datetime] = {}
        for source, progress in self.tracker.sources.items():
            feed, at = self._feed_of.get(source_topic(source), ""), progress.max_time
            if (
                feed in self._events
                and at is not None
                and (feed not in latest or at > latest[feed])
            ):
                latest[feed] = at
        events = {f: (n, latest[f].timestamp()) for f, n in self._events.items() if f in latest}
        counts = IngestCounts(events, self._dead_letters)
        self._events, self._dead_letters = {}, {}
        return counts

    def handle(self, record: RawRecord, now: float) -> DeadLetterOut | list[EngineOut]:
        """The dead letter of ``record``, or the engine records it becomes."""
        source = source_name(record.topic, record.partition)
        decoded = decode(record.value)
        if not isinstance(decoded, Rejected) and decoded.feed != self._feed_of.get(record.topic):
            decoded = Rejected(reason=WRONG_TOPIC, feed=decoded.feed)
        if isinstance(decoded, Rejected):
            self.tracker.seen(source, record.offset, None, now)
            reason, dead = decoded.reason, self._dead_letters
            dead[reason] = dead.get(reason, 0) + 1
            headers = dead_letter_headers(
                record.headers, reason, record.topic, record.partition, record.offset
            )
            return DeadLetterOut(record.key, record.value, headers)
        self._events[decoded.feed] = self._events.get(decoded.feed, 0) + 1
        clean = pseudonymise(decoded, self._key)
        out = self._revive(source, clean.event_time)
        stamp = 0.0 if record.timestamp is None else record.timestamp
        if isinstance(clean, RiskArea | Venue):  # what rules.is_broadcast tells apart
            envelope = dump_envelope(ReferenceRecord(source, clean))
            out += [EngineOut(p, None, envelope, stamp, p == 0) for p in range(self._partitions)]
        else:
            routes = route(clean, self._config)
            body = event_json(clean)  # once, for the engine copies and the clean record
            out += [
                EngineOut(
                    partition_for(family, key, self._partitions),
                    engine_key(family, key),
                    value,
                    stamp,
                    n == 0,
                )
                for n, ((family, key), value) in enumerate(
                    zip(routes, dump_event_copies(source, clean, routes, body), strict=True)
                )
            ]
            clean_topic = self._clean_topics.get(clean.feed)
            if clean_topic is not None:
                subject, value = downstream_record(clean, body)
                out.append(EngineOut(-1, subject, value, stamp, False, clean_topic))
        self.tracker.seen(source, record.offset, clean.event_time, now)
        return out

    def _revive(self, source: str, time: datetime) -> list[EngineOut]:
        """A watermark marker that makes an idle source active again, sent before its record.

        Without it an engine whose sources are all idle would drain the record at
        once, before the records of other sources that come back with it. The
        marker carries the source's highest time so far (``time``, the record's
        own, if it had none): on time for the record, since the effective
        watermark stays ``allowed_lateness_s`` below. Also sent before the first
        record of a source this worker has just been given (or rewound to): it
        may be idle in the engines, announced so by its previous reader.
        """
        progress = self.tracker.sources.get(source)
        if progress is None or not (progress.idle or progress.fresh):
            return []
        announced = progress.max_time or time
        self.tracker.sent(source, announced)
        return self._broadcast(Watermark(source, announced))

    def wake(self, source: str) -> list[EngineOut]:
        """Watermark markers reviving an idle ``source`` with records waiting (timer).

        Sent as soon as the records are seen in Kafka, before ingest reads them,
        so the source holds the watermark while the other sources move on.
        """
        progress = self.tracker.sources[source]
        if progress.max_time is None:
            return []
        progress.idle = False
        self.tracker.sent(source, progress.max_time)
        return self._broadcast(Watermark(source, progress.max_time))

    def markers(self) -> list[EngineOut]:
        """Watermark markers, to every engine partition, for sources whose time moved."""
        out: list[EngineOut] = []
        for source, time in self.tracker.due_watermarks():
            out.extend(self._broadcast(Watermark(source, time)))
            self.tracker.sent(source, time)
        return out

    def idle(self, source: str) -> list[EngineOut]:
        """The idle marker of ``source`` to every engine partition (watermarks first)."""
        self.tracker.mark_idle(source)
        return self._broadcast(Idle(source))

    def _broadcast(self, envelope: Envelope) -> list[EngineOut]:
        value = dump_envelope(envelope)
        return [EngineOut(p, None, value) for p in range(self._partitions)]
