"""The worker's samples: what its stages counted, turned into Prometheus metrics.

The one place the worker's stages record metrics. The ingest stage calls
``export_ingest`` once per batch with ``Ingest.take_counts``; the engine stage
calls ``export_engine`` once per batch with the ``EngineCounts`` it filled
(``streams.worker.counts``), and ``record_checkpoint``, ``record_restore``,
``set_engine_state`` and the lag functions when it checkpoints, takes a
partition on, or reports (every 2 s), as the ingest stage does its lag. The
metrics are the catalogue of ``streams.metrics``; the Kafka transactions and
the sink record theirs through ``streams.metrics`` itself.

Nothing here raises: a label value outside the catalogue, or one that looks
like an id, costs its sample and one error line (``streams.metric_labels``).
"""

from __future__ import annotations

from typing import Any

from streams.metric_labels import catalogued, usable_label
from streams.metrics import (
    ALERTS,
    CHECKPOINT_BYTES,
    CHECKPOINT_SECONDS,
    CHECKPOINT_TIME,
    CHECKPOINTS,
    CONSUMER_LAG,
    DEAD_LETTERS,
    DETECTION_LATENCY,
    DETECTION_PATHS,
    ENGINE_BUFFERED_EVENTS,
    ENGINE_RECORDS,
    ENGINE_SEEN_IDS,
    ENGINE_TIMERS,
    EVENTS,
    FEEDS,
    LAST_EVENT_TIME,
    LATE_EVENTS,
    REPLAYED,
    RESTORE_KINDS,
    RESTORES,
    RULES,
    SEVERITIES,
)
from streams.worker.counts import EngineCounts, IngestCounts

__all__ = [
    "export_engine",
    "export_ingest",
    "forget_consumer_lag",
    "record_checkpoint",
    "record_restore",
    "set_consumer_lag",
    "set_engine_state",
]

_event_children: dict[str, Any] = {}
_last_seen: dict[str, float] = {}


def export_ingest(counts: IngestCounts) -> None:
    """Record one batch of ingest: ``controlfeed_events_total{feed}``, the highest
    ``controlfeed_last_event_time_seconds{feed}`` (never back) and
    ``controlfeed_dead_letters_total{reason}`` (a record re-read after a crash counts
    again). Called by the ingest stage after each batch."""
    for feed, (count, latest) in counts.events.items():
        _record_events(feed, count, latest)
    for reason, count in counts.dead_letters.items():
        if usable_label(reason, "controlfeed_dead_letters_total") is not None:
            DEAD_LETTERS.labels(reason=reason).inc(count)


def _record_events(feed: str, count: int, event_time: float) -> None:
    child = _event_children.get(feed)
    if child is None:  # once per feed: then one dict lookup per feed and batch
        if catalogued(feed, FEEDS, "feed") is None:
            return
        child = _event_children[feed] = EVENTS.labels(feed=feed)
    child.inc(count)
    if event_time > _last_seen.get(feed, float("-inf")):
        _last_seen[feed] = event_time
        LAST_EVENT_TIME.labels(feed=feed).set(event_time)


def export_engine(counts: EngineCounts) -> None:
    """Record one batch of the engine stage: ``controlfeed_engine_records_total``,
    ``..._engine_replayed_records_total``, ``..._late_events_total{feed}``,
    ``..._alerts_total{rule,severity}`` and ``..._detection_latency_seconds{path}`` (a
    negative latency, clock skew between producer and worker, counts as 0). Called by the
    engine stage after each batch."""
    ENGINE_RECORDS.inc(counts.records)
    if counts.replayed:
        REPLAYED.inc(counts.replayed)
    for feed, count in counts.late.items():
        if catalogued(feed, FEEDS, "feed") is not None:
            LATE_EVENTS.labels(feed=feed).inc(count)
    for (rule, severity), count in counts.alerts.items():
        if catalogued(rule, RULES, "rule") and catalogued(severity, SEVERITIES, "severity"):
            ALERTS.labels(rule=rule, severity=severity).inc(count)
    for path, seconds in counts.latencies.items():
        if catalogued(path, DETECTION_PATHS, "path") is not None:
            histogram = DETECTION_LATENCY.labels(path=path)
            for value in seconds:
                histogram.observe(max(value, 0.0))


def record_checkpoint(size: int, seconds: float) -> None:
    """Count one engine checkpoint of ``size`` bytes that took ``seconds``."""
    CHECKPOINTS.inc()
    CHECKPOINT_BYTES.set(size)
    CHECKPOINT_TIME.set_to_current_time()
    CHECKPOINT_SECONDS.observe(seconds)


def record_restore(how: str) -> None:
    """Count one engine partition taken on ``how`` (``checkpoint`` / ``rebuild``)."""
    if catalogued(how, RESTORE_KINDS, "how") is not None:
        RESTORES.labels(how=how).inc()


def set_engine_state(buffered_events: int, timers: int, seen_ids: int) -> None:
    """Set the engines' state sizes, each summed over every engine of this worker."""
    ENGINE_BUFFERED_EVENTS.set(buffered_events)
    ENGINE_TIMERS.set(timers)
    ENGINE_SEEN_IDS.set(seen_ids)


def set_consumer_lag(topic: str, partition: int, lag: int) -> None:
    """Set the lag of one partition a stage reads (end offset minus position, at least 0).

    Called every 2 s by the ingest and engine stages for every partition they hold.
    """
    if usable_label(topic, "controlfeed_consumer_lag_records") is not None:
        CONSUMER_LAG.labels(topic=topic, partition=str(partition)).set(max(lag, 0))


def forget_consumer_lag(topic: str, partition: int) -> None:
    """Drop a partition's lag series when it is revoked (another worker reports it then)."""
    try:
        CONSUMER_LAG.remove(topic, str(partition))
    except KeyError:
        return
