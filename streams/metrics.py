"""The pipeline's Prometheus metrics: the catalogue, and the calls of the Kafka side and the sink.

Every metric the worker exports is defined here, once, in prometheus_client's
default registry, and served by ``streams.cli.worker`` on
``CONTROLFEED_METRICS_PORT``. ``docs/metrics.md`` lists every metric with its
meaning, and the alerting rules of ``docker/prometheus/rules/controlfeed.yml``
that read them.

Samples are taken through functions that check every label value first
(``streams.metric_labels``: labels are a small closed set, never a person,
phone, event or alert id) and never raise: the worker's stages count what
they did and ``streams.worker.exporting`` turns the counts into samples, once
per batch; the transactional stages' commits (``record_transaction``) and the
sink (``record_sink_*``, ``set_sink_*``) call the functions below.

Define a metric nowhere else: a second ``Counter`` of the same name in the
default registry fails at import with ``Duplicated timeseries``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Final, get_args

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from schemas.catalogue import DETECTION_PATHS, RULE_IDS, Severity
from schemas.feeds import FeedName
from streams.metric_labels import catalogued, usable_label

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
    "RESTORE_KINDS",
    "RULES",
    "SEVERITIES",
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
    "record_sink_error",
    "record_sink_flush",
    "record_transaction",
    "set_sink_paused",
    "set_sink_pending_rows",
]

FEEDS: Final[tuple[str, ...]] = get_args(FeedName)
"""The feed names of ``docs/feeds.md``: the only values of the ``feed`` label."""
RULES: Final[frozenset[str]] = frozenset(RULE_IDS)
"""The rule ids (``schemas.catalogue``): the only values of the ``rule`` label."""
SEVERITIES: Final[frozenset[str]] = frozenset(get_args(Severity))
"""The severities: the only values of the ``severity`` label."""
RESTORE_KINDS: Final = ("checkpoint", "rebuild")
"""How an engine partition is taken on: the only values of the ``how`` label."""
_STAGES: Final = ("ingest", "engine")
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

# ------------------------------------------------------- the Kafka side and the sink


def record_transaction(stage: str, committed: bool, seconds: float = 0.0) -> None:
    """Count one transaction of ``stage`` (``ingest`` or ``engine``) committed or aborted,
    whose commit (or abort) took ``seconds``."""
    outcome = "committed" if committed else "aborted"
    if catalogued(stage, _STAGES, "stage") is not None:
        TRANSACTIONS.labels(stage=stage, outcome=outcome).inc()
        TRANSACTION_SECONDS.labels(stage=stage).observe(seconds)


def record_sink_flush(table: str, rows: int, seconds: float) -> None:
    """Count one successful insert of ``rows`` rows into ``table`` that took ``seconds``."""
    if usable_label(table, "controlfeed_sink_rows_total") is None:
        return
    SINK_ROWS.labels(table=table).inc(rows)
    SINK_BATCHES.labels(table=table).inc()
    SINK_FLUSH.labels(table=table).observe(seconds)


def record_sink_error(table: str, seconds: float) -> None:
    """Count one failed insert into ``table`` that took ``seconds`` before failing."""
    if usable_label(table, "controlfeed_sink_errors_total") is None:
        return
    SINK_ERRORS.labels(table=table).inc()
    SINK_FLUSH.labels(table=table).observe(seconds)


def set_sink_pending_rows(rows: int) -> None:
    """Set the rows the sink holds that are not written yet."""
    SINK_PENDING_ROWS.set(rows)


def set_sink_paused(paused: bool) -> None:
    """1 while the sink has paused consuming because the store fails, 0 otherwise."""
    SINK_PAUSED.set(1 if paused else 0)
