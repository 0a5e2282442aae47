"""streams.metrics and streams.worker.exporting: names follow Prometheus conventions, the
recording functions and the stages' counts hit the right series, and no label value can
look like an ID number, phone, event or alert id (streams.metric_labels)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.registry import CollectorRegistry

from streams import metric_labels, metrics
from streams.metric_labels import check_label
from streams.metrics import WatermarkDelayCollector
from streams.worker import exporting
from streams.worker.counts import EngineCounts, IngestCounts

CATALOGUE = [
    getattr(metrics, name)
    for name in metrics.__all__
    if isinstance(getattr(metrics, name), Counter | Gauge | Histogram)
]


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_metric_is_named_controlfeed_and_documented() -> None:
    for metric in CATALOGUE:
        assert metric._name.startswith("controlfeed_"), metric._name
        assert metric._documentation.endswith("."), metric._name


def test_counters_end_in_total_and_histograms_in_seconds() -> None:
    for metric in CATALOGUE:
        (family,) = metric.describe()
        if isinstance(metric, Counter):
            assert family.samples == [] and f"{family.name}_total" in REGISTRY._names_to_collectors
        if isinstance(metric, Histogram):
            assert family.name.endswith("_seconds"), family.name


def test_time_gauges_are_in_seconds() -> None:
    names = [m._name for m in CATALOGUE if isinstance(m, Gauge)]

    assert "controlfeed_last_event_time_seconds" in names
    assert not [n for n in names if n.endswith(("_time", "_delay", "_latency", "_ms"))]


def test_ingest_counts_add_events_and_keep_the_highest_event_time() -> None:
    before = _value("controlfeed_events_total", feed="patrol_event")

    exporting.export_ingest(IngestCounts({"patrol_event": (3, 2_000_000_000.0)}))
    exporting.export_ingest(IngestCounts({"patrol_event": (1, 1_000_000_000.0)}))

    assert _value("controlfeed_events_total", feed="patrol_event") == before + 4
    last = _value("controlfeed_last_event_time_seconds", feed="patrol_event")
    assert last == 2_000_000_000.0


def test_every_feed_has_an_event_series_from_the_start() -> None:
    for feed in metrics.FEEDS:
        assert REGISTRY.get_sample_value("controlfeed_events_total", {"feed": feed}) is not None


def test_ingest_counts_drop_an_unknown_feed_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="streams.metric_labels"):
        exporting.export_ingest(IngestCounts({"Venue": (1, 0.0)}))

    assert _value("controlfeed_events_total", feed="Venue") == 0.0
    assert "feed='Venue' is not in the catalogue" in caplog.text


def test_engine_counts_add_alerts_by_rule_and_severity() -> None:
    before = _value("controlfeed_alerts_total", rule="fever", severity="critical")

    exporting.export_engine(EngineCounts(alerts={("fever", "critical"): 2}))

    assert _value("controlfeed_alerts_total", rule="fever", severity="critical") == before + 2


def test_engine_counts_drop_a_rule_outside_the_catalogue() -> None:
    exporting.export_engine(EngineCounts(alerts={("cp-000001", "warning"): 1}))

    assert _value("controlfeed_alerts_total", rule="cp-000001", severity="warning") == 0.0


def test_dead_letters_count_per_reason_in_one_counter() -> None:
    before = _value("controlfeed_dead_letters_total", reason="bad_value:phone")

    exporting.export_ingest(IngestCounts(dead_letters={"bad_value:phone": 2}))
    exporting.export_ingest(IngestCounts(dead_letters={"bad_value:phone": 1}))

    assert _value("controlfeed_dead_letters_total", reason="bad_value:phone") == before + 3


def test_engine_counts_add_records_replays_late_events_and_detection_latency() -> None:
    records = _value("controlfeed_engine_records_total")
    replayed = _value("controlfeed_engine_replayed_records_total")
    late = _value("controlfeed_late_events_total", feed="venue_scan")
    slow = _value("controlfeed_detection_latency_seconds_bucket", path="ordered", le="600.0")
    count = _value("controlfeed_detection_latency_seconds_count", path="ordered")
    fast = _value("controlfeed_detection_latency_seconds_bucket", path="immediate", le="0.005")

    exporting.export_engine(
        EngineCounts(
            records=7,
            replayed=3,
            late={"venue_scan": 2},
            latencies={"ordered": [700.0, 1.0], "immediate": [-0.5]},  # skew: counts as 0
        )
    )

    assert _value("controlfeed_engine_records_total") == records + 7
    assert _value("controlfeed_engine_replayed_records_total") == replayed + 3
    assert _value("controlfeed_late_events_total", feed="venue_scan") == late + 2
    bucket = _value("controlfeed_detection_latency_seconds_bucket", path="ordered", le="600.0")
    assert bucket == slow + 1
    assert _value("controlfeed_detection_latency_seconds_count", path="ordered") == count + 2
    assert (
        _value("controlfeed_detection_latency_seconds_bucket", path="immediate", le="0.005")
        == fast + 1
    )


def test_detection_latency_buckets_span_5_ms_to_30_min() -> None:
    assert metrics.DETECTION_LATENCY_BUCKETS[0] == 0.005
    assert metrics.DETECTION_LATENCY_BUCKETS[-1] == 1800
    assert metrics.DETECTION_PATHS == ("immediate", "ordered")
    exporting.export_engine(EngineCounts(latencies={"slow": [1.0]}))  # dropped, never raised
    assert _value("controlfeed_detection_latency_seconds_count", path="slow") == 0.0


def test_consumer_lag_is_set_and_forgotten_per_partition() -> None:
    exporting.set_consumer_lag("feeds.venue-scans", 4, 120)
    assert (
        _value("controlfeed_consumer_lag_records", topic="feeds.venue-scans", partition="4") == 120
    )

    exporting.forget_consumer_lag("feeds.venue-scans", 4)
    exporting.forget_consumer_lag("feeds.venue-scans", 4)  # twice is harmless

    labels = {"topic": "feeds.venue-scans", "partition": "4"}
    assert REGISTRY.get_sample_value("controlfeed_consumer_lag_records", labels) is None


def test_engine_state_gauges_checkpoints_and_restores() -> None:
    checkpoints = _value("controlfeed_checkpoints_total")
    rebuilds = _value("controlfeed_engine_restores_total", how="rebuild")

    exporting.set_engine_state(buffered_events=7, timers=3, seen_ids=90)
    exporting.record_checkpoint(4096, 0.02)
    exporting.record_restore("rebuild")
    exporting.record_restore("guess")  # dropped, never raised

    assert _value("controlfeed_checkpoints_total") == checkpoints + 1
    assert _value("controlfeed_checkpoint_bytes") == 4096
    assert _value("controlfeed_checkpoint_last_time_seconds") > 0
    assert _value("controlfeed_engine_restores_total", how="rebuild") == rebuilds + 1
    assert _value("controlfeed_engine_restores_total", how="guess") == 0.0

    assert _value("controlfeed_engine_buffered_events") == 7
    assert _value("controlfeed_engine_timers") == 3
    assert _value("controlfeed_engine_seen_ids") == 90


def test_sink_flush_error_pending_and_paused() -> None:
    rows = _value("controlfeed_sink_rows_total", table="alerts")
    batches = _value("controlfeed_sink_batches_total", table="alerts")
    errors = _value("controlfeed_sink_errors_total", table="alerts")
    flushes = _value("controlfeed_sink_flush_seconds_count", table="alerts")

    metrics.record_sink_flush("alerts", 500, 0.03)
    metrics.record_sink_error("alerts", 2.0)
    metrics.set_sink_pending_rows(42)
    metrics.set_sink_paused(True)

    assert _value("controlfeed_sink_rows_total", table="alerts") == rows + 500
    assert _value("controlfeed_sink_batches_total", table="alerts") == batches + 1
    assert _value("controlfeed_sink_errors_total", table="alerts") == errors + 1
    assert _value("controlfeed_sink_flush_seconds_count", table="alerts") == flushes + 2
    assert _value("controlfeed_sink_pending_rows") == 42
    assert _value("controlfeed_sink_paused") == 1
    metrics.set_sink_paused(False)
    assert _value("controlfeed_sink_paused") == 0


def test_watermark_delay_is_the_wall_clock_minus_the_last_event_time() -> None:
    registry = CollectorRegistry()
    source = Gauge("t_last_event_time_seconds", "t", ["feed"], registry=registry)
    source.labels(feed="venue_scan").set(1000.0)
    registry.register(WatermarkDelayCollector(source, clock=lambda: 1600.0))

    delay = registry.get_sample_value(metrics.WATERMARK_DELAY_NAME, {"feed": "venue_scan"})

    assert delay == 600.0


@pytest.mark.parametrize(
    "value",
    [
        "511802198503120017",  # ID number (18)
        "51180219850312001X",  # ID number with check character X
        "511802850312001",  # old 15-digit ID number
        "13800001234",  # phone
        "138****5678",  # masked phone
        "5***************1X",  # masked ID number
        "cp-000001",  # event id of docs/feeds.md
        "ev-000123-vs",  # event id of the generator
        "canping-ph-001",  # venue id
        "0123456789abcdef0123456789abcdef",  # alert id
        "6f1c2a4e-9b3d-4c8e-a1f2-123456789abc",  # UUID
        "",
        "x" * 65,
        "two words",
    ],
)
def test_check_label_rejects_id_like_values(value: str) -> None:
    with pytest.raises(ValueError, match="label value"):
        check_label(value)


@pytest.mark.parametrize(
    "value",
    [
        "checkpoint_scan",
        "bad_value:travel.areas",
        "missing_field:nat.sampled_at",
        "wrong_topic",
        "risk-area-visitor",
        "feeds.checkpoint-scans",
        "demo.12345678.feeds.venue-scans",
        "alerts",
        "17",
    ],
)
def test_check_label_accepts_bounded_values(value: str) -> None:
    assert check_label(value) == value


def test_recording_helpers_drop_id_like_labels_without_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("ERROR", logger="streams.metric_labels"):
        exporting.export_ingest(IngestCounts(dead_letters={"13800001234": 1}))
        metrics.record_sink_flush("ev-000001-cp", 1, 0.1)
        exporting.set_consumer_lag("a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", 0, 1)
        exporting.set_consumer_lag("t1796196186.feeds.checkpoint-scans", 0, 1)

    assert _value("controlfeed_dead_letters_total", reason="13800001234") == 0.0
    assert _value("controlfeed_sink_rows_total", table="ev-000001-cp") == 0.0
    assert "looks like an ID or phone number" in caplog.text
    assert "looks like an event id" in caplog.text
    assert "13800001234" not in caplog.text  # the value itself may be personal data


def test_check_label_explains_what_a_value_looks_like() -> None:
    with pytest.raises(ValueError, match="ID or phone"):
        metric_labels.check_label("13800001234")
    assert metric_labels.label_problem("site-001.feeds.venue-scans") == "it looks like an event id"
    assert metric_labels.label_problem("x" * 65) == "it has 65 characters (1 to 64 allowed)"
    assert metric_labels.label_problem("feeds.venue-scans") is None


def test_no_series_in_the_registry_has_an_id_like_label() -> None:
    """Everything recorded so far in this process: each label value passes check_label."""
    for family in REGISTRY.collect():
        if not family.name.startswith("controlfeed_"):
            continue
        for sample in family.samples:
            for name, value in sample.labels.items():
                if name != "le":
                    check_label(value)
