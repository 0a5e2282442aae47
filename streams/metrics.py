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

The recording functions never raise: a label value outside the catalogue or
one that looks like an id (a bug: every setting that becomes a label, such as
a topic name, is checked when the worker starts, ``label_problem``) costs its
sample and one error line in the log, never the pipeline. Bad input is counted
under its reason code.

Define a metric nowhere else: a second ``Counter`` of the same name in the
default registry fails at import with ``Duplicated timeseries``
(``controlfeed_dead_letters_total`` used to live in ``streams.worker.deadletter``,
which now calls ``record_dead_letter``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any, Final, get_args

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from schemas.catalogue import DETECTION_PATHS, RULE_IDS, Severity
from schemas.feeds import FeedName

__all__ = [
    "ALERTS",
    "CHECKPOINTS",
    "CHECKPOINT_BYTES",
    "CHECKPOINT_SECONDS",
    "CHECKPOINT_TIME",
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
    "REPLAYED",
    "RESTORES",
    "SINK_BATCHES",
    "SINK_ERRORS",
    "SINK_FLUSH",
    "SINK_FLUSH_BUCKETS",
    "SINK_PAUSED",
    "SINK_PENDING_ROWS",
    "SINK_ROWS",
    "TRANSACTIONS",
    "TRANSACTION_SECONDS",
    "WATERMARK_DELAY_NAME",
    "WatermarkDelayCollector",
    "check_label",
    "forget_consumer_lag",
    "label_problem",
    "observe_detection_latency",
    "record_alert",
    "record_checkpoint",
    "record_dead_letter",
    "record_event",
    "record_late_event",
    "record_replayed",
    "record_restore",
    "record_sink_error",
    "record_sink_flush",
    "record_transaction",
    "set_consumer_lag",
    "set_engine_state",
    "set_sink_paused",
    "set_sink_pending_rows",
]

log = logging.getLogger(__name__)

FEEDS: Final[tuple[str, ...]] = get_args(FeedName)
"""The feed names of ``docs/feeds.md``: the only values of the ``feed`` label."""
_RULES: Final[frozenset[str]] = frozenset(RULE_IDS)
_SEVERITIES: Final[frozenset[str]] = frozenset(get_args(Severity))
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


def label_problem(value: str) -> str | None:
    """Why ``value`` cannot be a label value, in words, or None when it can.

    Refused: the empty string, more than 64 characters, and anything that
    looks like a person's ID number or phone (9 digits in a row), a masked
    form (``*``), an event id (``cp-000001``, ``ev-000123-cp``), an alert id
    or other hash (16 hex digits in a row), a UUID, or holds whitespace.
    ``controlfeed worker`` asks it at start for every setting that becomes a
    label (topic names), and refuses to start on an answer.
    """
    if value in _checked:
        return None
    if not value or len(value) > _MAX_LABEL_LEN:
        return f"it has {len(value)} characters (1 to 64 allowed)"
    for what, pattern in _ID_LIKE:
        if pattern.search(value):
            return f"it looks like {what}"
    _checked.add(value)
    return None


def check_label(value: str) -> str:
    """``value`` if it is a bounded label value, else ``ValueError`` (``label_problem``).

    For tests and start-up checks; the recording functions below never raise.
    """
    problem = label_problem(value)
    if problem is not None:
        raise ValueError(f"label value {value[:12]!r}...: {problem}; labels are bounded")
    return value


_dropped: set[tuple[str, str]] = set()


def _label(value: str, metric: str) -> str | None:
    """``value`` if it may be a label of ``metric``; else None, logged once per kind.

    Never raises: a value that slipped past the start-up checks costs its
    sample, never the pipeline. The value itself is not logged (it may be an id).
    """
    if value in _checked:
        return value
    problem = label_problem(value)
    if problem is None:
        return value
    if (metric, problem) not in _dropped:
        _dropped.add((metric, problem))
        log.error("a %s sample was dropped: its label value is unusable (%s)", metric, problem)
    return None


def _one_of(value: str, allowed: Iterable[str], label: str) -> str | None:
    """``value`` if the catalogue has it for ``label``; else None, logged once (a bug)."""
    if value in allowed:
        return value
    if (label, value) not in _dropped:
        _dropped.add((label, value))
        log.error("a sample was dropped: %s=%.20r is not in the catalogue", label, value)
    return None


# ----------------------------------------------------------------- catalogue


EVENTS = Counter(
    "controlfeed_events", "Valid events the worker read, by feed (docs/feeds.md names).", ["feed"]
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
TRANSACTIONS = Counter(
    "controlfeed_transactions",
    "Kafka transactions of the worker's stages, by stage and outcome.",
    ["stage", "outcome"],
)
"""``controlfeed_transactions_total{stage,outcome}``: stage ``ingest`` or ``engine``, outcome
``committed`` or ``aborted`` (an abort rewinds the stage: its input is read again)."""
TRANSACTION_SECONDS = Histogram(
    "controlfeed_transaction_commit_seconds",
    "Seconds one commit of a stage's Kafka transaction took (the stage waits meanwhile).",
    ["stage"],
    buckets=SINK_FLUSH_BUCKETS,
)
"""``controlfeed_transaction_commit_seconds{stage}``: flush, offsets and EndTxn."""
CHECKPOINTS = Counter("controlfeed_checkpoints", "Engine checkpoints written to the state topic.")
"""``controlfeed_checkpoints_total``: one per engine partition and checkpoint interval."""
CHECKPOINT_BYTES = Gauge(
    "controlfeed_checkpoint_bytes", "Size of the engine checkpoint written last, in bytes."
)
"""``controlfeed_checkpoint_bytes``: follows the engines' state, bounded by its horizons."""
CHECKPOINT_TIME = Gauge(
    "controlfeed_checkpoint_last_time_seconds",
    "Unix time of the engine checkpoint written last (0: none yet).",
)
"""``controlfeed_checkpoint_last_time_seconds``: ``time() - it`` is the checkpoint age."""
CHECKPOINT_SECONDS = Histogram(
    "controlfeed_checkpoint_seconds",
    "Seconds one engine checkpoint took to take and queue (the engine waits meanwhile).",
    buckets=SINK_FLUSH_BUCKETS,
)
"""``controlfeed_checkpoint_seconds``."""
RESTORES = Counter(
    "controlfeed_engine_restores",
    "Engine partitions taken on: from a checkpoint, or rebuilt from the engine topic.",
    ["how"],
)
"""``controlfeed_engine_restores_total{how}``: ``checkpoint`` or ``rebuild``."""
REPLAYED = Counter(
    "controlfeed_engine_replayed_records",
    "Engine-topic records processed again after a restore (their alerts were out already).",
)
"""``controlfeed_engine_replayed_records_total``: at most a checkpoint interval's worth
per restore."""
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


def record_event(feed: str, event_time: float, count: int = 1) -> None:
    """Count ``count`` valid events of ``feed``, the latest at ``event_time`` (unix seconds).

    Called by the ingest stage once per feed and batch, with what
    ``Ingest.take_counts`` gathered (``schemas.decode`` accepted them): per
    batch, since a Prometheus counter takes a lock per call. Raises nothing:
    a feed outside ``FEEDS`` costs its sample and one error line.
    """
    child = _event_children.get(feed)
    if child is None:  # once per feed: the hot path is one dict lookup
        if _one_of(feed, FEEDS, "feed") is None:
            return
        child = _event_children[feed] = EVENTS.labels(feed=feed)
    child.inc(count)
    if event_time > _last_seen.get(feed, float("-inf")):
        _last_seen[feed] = event_time
        LAST_EVENT_TIME.labels(feed=feed).set(event_time)


def record_late_event(feed: str) -> None:
    """Count one event of ``feed`` that arrived behind the watermark (engine stage)."""
    if _one_of(feed, FEEDS, "feed") is not None:
        LATE_EVENTS.labels(feed=feed).inc()


def record_dead_letter(reason: str) -> None:
    """Count one record sent to the dead-letter topic (``streams.worker.deadletter``).

    ``reason`` is a code of ``docs/bad-input.md`` or ``wrong_topic``; a value
    that looks like an id is dropped (logged once).
    """
    if _label(reason, "controlfeed_dead_letters_total") is not None:
        DEAD_LETTERS.labels(reason=reason).inc()


def record_alert(rule: str, severity: str) -> None:
    """Count one alert published (engine stage); both must be catalogue values."""
    if _one_of(rule, _RULES, "rule") and _one_of(severity, _SEVERITIES, "severity"):
        ALERTS.labels(rule=rule, severity=severity).inc()


def observe_detection_latency(path: str, seconds: float) -> None:
    """Record one alert's latency from its triggering record's Kafka timestamp.

    Called by the engine stage when it publishes an alert: ``path`` is
    ``immediate`` for rules judged on arrival, ``ordered`` for rules that wait
    for the watermark. A negative ``seconds`` (clock skew between producer and
    worker) is recorded as 0.
    """
    if _one_of(path, DETECTION_PATHS, "path") is not None:
        DETECTION_LATENCY.labels(path=path).observe(max(seconds, 0.0))


def set_consumer_lag(topic: str, partition: int, lag: int) -> None:
    """Set the lag of one partition this worker reads (end offset minus position).

    Called periodically by the worker for every assigned input partition.
    """
    if _label(topic, "controlfeed_consumer_lag_records") is not None:
        CONSUMER_LAG.labels(topic=topic, partition=str(partition)).set(max(lag, 0))


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


_STAGES: Final = ("ingest", "engine")
_RESTORES: Final = ("checkpoint", "rebuild")


def record_transaction(stage: str, committed: bool, seconds: float = 0.0) -> None:
    """Count one transaction of ``stage`` (``ingest`` or ``engine``) committed or aborted,
    whose commit (or abort) took ``seconds``."""
    outcome = "committed" if committed else "aborted"
    if _one_of(stage, _STAGES, "stage") is not None:
        TRANSACTIONS.labels(stage=stage, outcome=outcome).inc()
        TRANSACTION_SECONDS.labels(stage=stage).observe(seconds)


def record_checkpoint(size: int, seconds: float) -> None:
    """Count one engine checkpoint of ``size`` bytes that took ``seconds``."""
    CHECKPOINTS.inc()
    CHECKPOINT_BYTES.set(size)
    CHECKPOINT_TIME.set_to_current_time()
    CHECKPOINT_SECONDS.observe(seconds)


def record_restore(how: str) -> None:
    """Count one engine partition taken on ``how`` (``checkpoint`` / ``rebuild``)."""
    if _one_of(how, _RESTORES, "how") is not None:
        RESTORES.labels(how=how).inc()


def record_replayed(records: int) -> None:
    """Count engine records processed again after a restore, their alerts not sent again."""
    REPLAYED.inc(records)


def record_sink_flush(table: str, rows: int, seconds: float) -> None:
    """Count one successful insert of ``rows`` rows into ``table`` that took ``seconds``."""
    if _label(table, "controlfeed_sink_rows_total") is None:
        return
    SINK_ROWS.labels(table=table).inc(rows)
    SINK_BATCHES.labels(table=table).inc()
    SINK_FLUSH.labels(table=table).observe(seconds)


def record_sink_error(table: str, seconds: float) -> None:
    """Count one failed insert into ``table`` that took ``seconds`` before failing."""
    if _label(table, "controlfeed_sink_errors_total") is None:
        return
    SINK_ERRORS.labels(table=table).inc()
    SINK_FLUSH.labels(table=table).observe(seconds)


def set_sink_pending_rows(rows: int) -> None:
    """Set the rows the sink holds that are not written yet."""
    SINK_PENDING_ROWS.set(rows)


def set_sink_paused(paused: bool) -> None:
    """1 while the sink has paused consuming because the store fails, 0 otherwise."""
    SINK_PAUSED.set(1 if paused else 0)
