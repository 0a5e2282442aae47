"""The pipeline's Prometheus metrics: the catalogue and the calls that record them.

Every metric the worker exports is defined here, once, in prometheus_client's
default registry, and served by ``streams.worker.command`` on
``CONTROLFEED_METRICS_PORT``. The worker calls the ``record_*`` / ``set_*`` /
``observe_*`` functions below instead of touching the objects, so that every
label value goes through ``check_label`` first: labels are a small closed set
(feeds, reason codes, rules, severities, tables, topics, partitions) and never a
person, phone, event or alert id. ``docs/metrics.md`` lists every metric with its
meaning, and the alerting rules of ``docker/prometheus/rules/controlfeed.yml``
that read them.

A ``ValueError`` from any function here is a bug in the caller (a label outside
the catalogue, or an id where a label should be), never bad input: the worker
counts bad input under its reason code.

Define a metric nowhere else: a second ``Counter`` of the same name in the
default registry fails at import with ``Duplicated timeseries``
(``controlfeed_dead_letters_total`` used to live in ``streams.worker.deadletter``,
which now calls ``record_dead_letter``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Final, get_args

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from schemas.alerts import RuleId, Severity
from schemas.feeds import FeedName

__all__ = [
    "ALERTS",
    "CONSUMER_LAG",
    "DEAD_LETTERS",
    "DETECTION_LATENCY",
    "DETECTION_LATENCY_BUCKETS",
    "DETECTION_PATHS",
    "ENGINE_BUFFERED_EVENTS",
    "ENGINE_RECORDS",
    "ENGINE_SEEN_IDS",
    "ENGINE_TIMERS",
    "EVENTS",
    "FEEDS",
    "LAST_EVENT_TIME",
    "LATE_EVENTS",
    "SINK_BATCHES",
    "SINK_ERRORS",
    "SINK_FLUSH",
    "SINK_FLUSH_BUCKETS",
    "SINK_PAUSED",
    "SINK_PENDING_ROWS",
    "SINK_ROWS",
    "WATERMARK_DELAY_NAME",
    "WatermarkDelayCollector",
    "check_label",
    "forget_consumer_lag",
    "observe_detection_latency",
    "record_alert",
    "record_dead_letter",
    "record_event",
    "record_late_event",
    "record_sink_error",
    "record_sink_flush",
    "set_consumer_lag",
    "set_engine_state",
    "set_sink_paused",
    "set_sink_pending_rows",
]

FEEDS: Final[tuple[str, ...]] = get_args(FeedName)
"""The feed names of ``feeds.md``: the only values of the ``feed`` label."""
_RULES: Final[frozenset[str]] = frozenset(get_args(RuleId))
_SEVERITIES: Final[frozenset[str]] = frozenset(get_args(Severity))
DETECTION_PATHS: Final[tuple[str, ...]] = ("immediate", "ordered")
"""``immediate``: rules judged on arrival; ``ordered``: rules that wait for the watermark."""
DETECTION_LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    60, 120, 300, 600, 900, 1200, 1800,
)  # fmt: skip
"""5 ms to 30 min: the ordered path waits for the watermark (10 min of allowed lateness)."""
SINK_FLUSH_BUCKETS: Final[tuple[float, ...]] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
)  # fmt: skip
"""5 ms to 1 min: one ClickHouse insert of a batch."""
WATERMARK_DELAY_NAME: Final = "controlfeed_watermark_delay_seconds"
"""The gauge ``WatermarkDelayCollector`` computes at scrape time."""

# ---------------------------------------------------------------- label check

_MAX_LABEL_LEN: Final = 64
_ID_LIKE: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("a masked value", re.compile(r"\*")),
    ("an ID or phone number", re.compile(r"\d{9}")),  # 15/18-digit IDs, 11-digit phones
    ("an event id", re.compile(r"[A-Za-z]-\d{3}")),  # cp-000001, ev-000123-cp, canping-ph-001
    ("an alert id or hash", re.compile(r"[0-9A-Fa-f]{16}")),  # alert_id: 32 hex, keys: 64
    ("a UUID", re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-")),
    ("whitespace or a control character", re.compile(r"[\s\x00-\x1f]")),
)
_checked: set[str] = set()


def check_label(value: str) -> str:
    """``value`` if it is a bounded label value, else ``ValueError``.

    Called by every recording function here (and by tests on everything the
    registry holds). Refuses the empty string, more than 64 characters, and
    anything that looks like a person's ID number or phone (9 digits in a row),
    a masked form (``*``), an event id (``cp-000001``, ``ev-000123-cp``), an
    alert id or other hash (16 hex digits in a row) or a UUID. Values that
    passed once are remembered, so the hot path costs one set lookup.
    """
    if value in _checked:
        return value
    if not value or len(value) > _MAX_LABEL_LEN:
        raise ValueError(f"label value of {len(value)} characters: must be 1 to 64")
    for what, pattern in _ID_LIKE:
        if pattern.search(value):
            raise ValueError(f"label value {value[:12]!r}... looks like {what}: labels are bounded")
    _checked.add(value)
    return value


def _one_of(value: str, allowed: Iterable[str], label: str) -> str:
    if value not in allowed:
        raise ValueError(f"{label}={value!r} is not one of the catalogue's {label} values")
    return value


# ----------------------------------------------------------------- catalogue


EVENTS = Counter(
    "controlfeed_events", "Valid events the worker read, by feed (feeds.md names).", ["feed"]
)
"""``controlfeed_events_total{feed}``: valid events read (after decode, before the rules)."""
DEAD_LETTERS = Counter(
    "controlfeed_dead_letters",
    "Records the worker sent to the dead-letter topic, by reason code.",
    ["reason"],
)
"""``controlfeed_dead_letters_total{reason}``: bad records; reasons are the codes of
``docs/bad-input.md`` plus ``wrong_topic``. The single definition of this counter."""
LATE_EVENTS = Counter(
    "controlfeed_late_events",
    "Valid events older than the engine's watermark when read, by feed.",
    ["feed"],
)
"""``controlfeed_late_events_total{feed}``: late events get the per-event rules only."""
ALERTS = Counter(
    "controlfeed_alerts", "Alerts published to the alerts topic, by rule and severity.",
    ["rule", "severity"],
)  # fmt: skip
"""``controlfeed_alerts_total{rule,severity}``: a repeated alert (same id, after a restart)
counts again."""
DETECTION_LATENCY = Histogram(
    "controlfeed_detection_latency_seconds",
    "Seconds from the triggering record's Kafka timestamp to the alert's publication.",
    ["path"],
    buckets=DETECTION_LATENCY_BUCKETS,
)
"""``controlfeed_detection_latency_seconds{path}``: ``immediate`` or ``ordered``."""
LAST_EVENT_TIME = Gauge(
    "controlfeed_last_event_time_seconds",
    "Highest event time read so far, by feed (unix seconds).",
    ["feed"],
)
"""``controlfeed_last_event_time_seconds{feed}``: never goes back within one process."""
CONSUMER_LAG = Gauge(
    "controlfeed_consumer_lag_records",
    "Records between the worker's position and the partition's end offset.",
    ["topic", "partition"],
)
"""``controlfeed_consumer_lag_records{topic,partition}``: only partitions this worker holds."""
ENGINE_BUFFERED_EVENTS = Gauge(
    "controlfeed_engine_buffered_events",
    "Events held until the watermark passes them, summed over the worker's engines.",
)
"""``controlfeed_engine_buffered_events``: grows when a source holds the watermark back."""
ENGINE_TIMERS = Gauge(
    "controlfeed_engine_timers", "Pending deadline timers, summed over the worker's engines."
)
"""``controlfeed_engine_timers``: 1-3-5, patrol gap, 24 h tests and re-inspections."""
ENGINE_SEEN_IDS = Gauge(
    "controlfeed_engine_seen_ids",
    "Event ids remembered for de-duplication, summed over the worker's engines.",
)
"""``controlfeed_engine_seen_ids``: bounded by the engines' horizons."""
ENGINE_RECORDS = Counter(
    "controlfeed_engine_records",
    "Engine-topic records (event copies, reference records, markers) the engines processed.",
)
"""``controlfeed_engine_records_total``: against the engine topic's end offsets, how far the
engines are; ``benchmarks/worker.py`` times the worker with it."""
SINK_ROWS = Counter("controlfeed_sink_rows", "Rows written to the store, by table.", ["table"])
"""``controlfeed_sink_rows_total{table}``: counted when the insert succeeded."""
SINK_BATCHES = Counter(
    "controlfeed_sink_batches", "Batches (inserts) written to the store, by table.", ["table"]
)
"""``controlfeed_sink_batches_total{table}``: one per successful flush."""
SINK_ERRORS = Counter(
    "controlfeed_sink_errors", "Failed inserts into the store, by table.", ["table"]
)
"""``controlfeed_sink_errors_total{table}``: each failed attempt (retries count again)."""
SINK_FLUSH = Histogram(
    "controlfeed_sink_flush_seconds",
    "Seconds one flush (insert of a batch) took, by table, failed ones included.",
    ["table"],
    buckets=SINK_FLUSH_BUCKETS,
)
"""``controlfeed_sink_flush_seconds{table}``."""
SINK_PENDING_ROWS = Gauge(
    "controlfeed_sink_pending_rows", "Rows taken from Kafka and not yet written to the store."
)
"""``controlfeed_sink_pending_rows``: the sink's buffer."""
SINK_PAUSED = Gauge(
    "controlfeed_sink_paused", "1 while the sink stops consuming because the store is failing."
)
"""``controlfeed_sink_paused``: 0 or 1."""

for _feed in FEEDS:  # every feed has series from the start, so a silent one shows as 0
    EVENTS.labels(feed=_feed)
    LATE_EVENTS.labels(feed=_feed)


class WatermarkDelayCollector(Collector):
    """``controlfeed_watermark_delay_seconds{feed}``: wall clock minus the last event time.

    Computed at every scrape from ``LAST_EVENT_TIME``, so it keeps growing while
    a feed is silent (a gauge set by the worker would freeze). Registered once
    in the default registry below; tests build their own with a fixed clock.
    """

    def __init__(self, source: Gauge, clock: Callable[[], float] = time.time) -> None:
        self._source = source
        self._clock = clock

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """Called by the registry at scrape time; one sample per feed seen so far."""
        family = GaugeMetricFamily(
            WATERMARK_DELAY_NAME,
            "Seconds the highest event time read trails the wall clock, by feed.",
            labels=["feed"],
        )
        now = self._clock()
        for metric in self._source.collect():
            for sample in metric.samples:
                family.add_metric([sample.labels["feed"]], now - sample.value)
        yield family


def _register_delay(registry: CollectorRegistry) -> None:
    if WATERMARK_DELAY_NAME not in registry._names_to_collectors:
        registry.register(WatermarkDelayCollector(LAST_EVENT_TIME))


_register_delay(REGISTRY)
_last_seen: dict[str, float] = {}

# ------------------------------------------------------------ what the worker calls


_event_children: dict[str, Any] = {}


def record_event(feed: str, event_time: float) -> None:
    """Count one valid event of ``feed`` with ``event_time`` (unix seconds).

    Called by ingest for every record ``schemas.decode`` accepts, before
    pseudonymisation. Raises ``ValueError`` for a feed outside ``FEEDS``.
    """
    child = _event_children.get(feed)
    if child is None:  # once per feed: the hot path is one dict lookup
        child = _event_children[feed] = EVENTS.labels(feed=_one_of(feed, FEEDS, "feed"))
    child.inc()
    if event_time > _last_seen.get(feed, float("-inf")):
        _last_seen[feed] = event_time
        LAST_EVENT_TIME.labels(feed=feed).set(event_time)


def record_late_event(feed: str) -> None:
    """Count one event of ``feed`` that arrived behind the watermark (engine stage)."""
    LATE_EVENTS.labels(feed=_one_of(feed, FEEDS, "feed")).inc()


def record_dead_letter(reason: str) -> None:
    """Count one record sent to the dead-letter topic (``streams.worker.deadletter``).

    ``reason`` is a code of ``docs/bad-input.md`` or ``wrong_topic``; a value
    that looks like an id raises ``ValueError``.
    """
    DEAD_LETTERS.labels(reason=check_label(reason)).inc()


def record_alert(rule: str, severity: str) -> None:
    """Count one alert published (engine stage); both must be catalogue values."""
    ALERTS.labels(
        rule=_one_of(rule, _RULES, "rule"), severity=_one_of(severity, _SEVERITIES, "severity")
    ).inc()


def observe_detection_latency(path: str, seconds: float) -> None:
    """Record one alert's latency from its triggering record's Kafka timestamp.

    Called by the engine stage when it publishes an alert: ``path`` is
    ``immediate`` for rules judged on arrival, ``ordered`` for rules that wait
    for the watermark. A negative ``seconds`` (clock skew between producer and
    worker) is recorded as 0.
    """
    DETECTION_LATENCY.labels(path=_one_of(path, DETECTION_PATHS, "path")).observe(max(seconds, 0.0))


def set_consumer_lag(topic: str, partition: int, lag: int) -> None:
    """Set the lag of one partition this worker reads (end offset minus position).

    Called periodically by the worker for every assigned input partition.
    """
    CONSUMER_LAG.labels(topic=check_label(topic), partition=str(partition)).set(max(lag, 0))


def forget_consumer_lag(topic: str, partition: int) -> None:
    """Drop a partition's lag series when it is revoked (another worker reports it then)."""
    try:
        CONSUMER_LAG.remove(topic, str(partition))
    except KeyError:
        return


def set_engine_state(buffered_events: int, timers: int, seen_ids: int) -> None:
    """Set the engines' state sizes, each summed over every engine of this worker."""
    ENGINE_BUFFERED_EVENTS.set(buffered_events)
    ENGINE_TIMERS.set(timers)
    ENGINE_SEEN_IDS.set(seen_ids)


def record_sink_flush(table: str, rows: int, seconds: float) -> None:
    """Count one successful insert of ``rows`` rows into ``table`` that took ``seconds``."""
    check_label(table)
    SINK_ROWS.labels(table=table).inc(rows)
    SINK_BATCHES.labels(table=table).inc()
    SINK_FLUSH.labels(table=table).observe(seconds)


def record_sink_error(table: str, seconds: float) -> None:
    """Count one failed insert into ``table`` that took ``seconds`` before failing."""
    check_label(table)
    SINK_ERRORS.labels(table=table).inc()
    SINK_FLUSH.labels(table=table).observe(seconds)


def set_sink_pending_rows(rows: int) -> None:
    """Set the rows the sink holds that are not written yet."""
    SINK_PENDING_ROWS.set(rows)


def set_sink_paused(paused: bool) -> None:
    """1 while the sink has paused consuming because the store fails, 0 otherwise."""
    SINK_PAUSED.set(1 if paused else 0)
