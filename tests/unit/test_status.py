"""controlfeed status without a worker: canned /metrics text into a report and a screen."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY
from rich.console import Console

from streams.cli import status as command
from streams.cli.status import render
from streams.ops.status.report import (
    READ_METRICS,
    AlertCounts,
    Report,
    build_report,
    parse_snapshot,
)
from streams.settings import Settings

FIRST = """\
# TYPE controlfeed_events_total counter
controlfeed_events_total{feed="checkpoint_scan"} 100.0
controlfeed_events_total{feed="venue_scan"} 1000.0
controlfeed_events_total{feed="patrol_event"} 0.0
# TYPE controlfeed_alerts_total counter
controlfeed_alerts_total{rule="fever",severity="warning"} 3.0
# TYPE controlfeed_dead_letters_total counter
controlfeed_dead_letters_total{reason="invalid_json"} 4.0
"""

SECOND = """\
# TYPE controlfeed_events_total counter
controlfeed_events_total{feed="checkpoint_scan"} 110.0
controlfeed_events_total{feed="venue_scan"} 1200.0
controlfeed_events_total{feed="patrol_event"} 0.0
# TYPE controlfeed_late_events_total counter
controlfeed_late_events_total{feed="venue_scan"} 2.0
# TYPE controlfeed_last_event_time_seconds gauge
controlfeed_last_event_time_seconds{feed="venue_scan"} 1.7e9
# TYPE controlfeed_consumer_lag_records gauge
controlfeed_consumer_lag_records{topic="feeds.venue-scans",partition="0"} 30.0
controlfeed_consumer_lag_records{topic="feeds.venue-scans",partition="1"} 12.0
controlfeed_consumer_lag_records{topic="feeds.checkpoint-scans",partition="0"} 0.0
# TYPE controlfeed_alerts_total counter
controlfeed_alerts_total{rule="fever",severity="warning"} 4.0
controlfeed_alerts_total{rule="crowding",severity="critical"} 0.0
# TYPE controlfeed_dead_letters_total counter
controlfeed_dead_letters_total{reason="invalid_json"} 6.0
controlfeed_dead_letters_total{reason="unknown_feed"} 1.0
# TYPE controlfeed_sink_rows_total counter
controlfeed_sink_rows_total{table="alerts"} 500.0
controlfeed_sink_rows_total{table="scans"} 250.0
# TYPE controlfeed_sink_errors_total counter
controlfeed_sink_errors_total{table="alerts"} 2.0
# TYPE controlfeed_sink_paused gauge
controlfeed_sink_paused 1.0
# TYPE controlfeed_sink_pending_rows gauge
controlfeed_sink_pending_rows 75.0
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 3.0
"""


def _report(alerts: AlertCounts | None = None) -> Report:
    first = parse_snapshot(FIRST, taken_at=1.7e9 + 100.0)
    second = parse_snapshot(SECOND, taken_at=1.7e9 + 102.0)
    return build_report("127.0.0.1:9308", first, second, alerts, "Prometheus is not reachable")


def test_feed_rates_come_from_two_scrapes() -> None:
    report = _report()

    rates = {row.feed: row.rate for row in report.feeds}
    assert rates == {"checkpoint_scan": 5.0, "venue_scan": 100.0, "patrol_event": 0.0}


def test_last_event_time_and_how_far_it_trails() -> None:
    (venue,) = [r for r in _report().feeds if r.feed == "venue_scan"]

    assert venue.last_event_time == 1.7e9
    assert venue.behind_s == 102.0
    assert venue.late == 2


def test_lag_is_summed_per_topic() -> None:
    assert _report().lag == {"feeds.checkpoint-scans": 0, "feeds.venue-scans": 42}


def test_without_prometheus_alerts_are_the_workers_counters_and_say_so() -> None:
    alerts = _report().alerts

    assert alerts.source == "worker"
    assert alerts.window == "since the worker started"
    assert alerts.counts == {("fever", "warning"): 4}
    assert "not reachable" in alerts.note


def test_prometheus_counts_are_used_when_given() -> None:
    given = AlertCounts("prometheus", "last 1h", "Prometheus at x", {("crowding", "critical"): 2})

    assert _report(given).alerts is given


def test_sink_health_and_dead_letters() -> None:
    report = _report()

    assert report.sink.__dict__ == {
        "rows": 750, "batches": 0, "errors": 2, "pending_rows": 75, "paused": True,
    }  # fmt: skip
    assert report.dead_letters == 7
    assert report.dead_letter_rate == 1.5


def test_a_worker_restart_between_scrapes_gives_no_negative_rate() -> None:
    report = build_report(
        "w", parse_snapshot(SECOND, 10.0), parse_snapshot(FIRST, 11.0), None, "why"
    )

    assert all(row.rate >= 0 for row in report.feeds)


def test_json_has_every_section() -> None:
    body = _report().to_json()

    assert set(body) == {"worker", "taken_at", "feeds", "lag", "alerts", "dead_letters", "sink"}
    assert body["alerts"]["counts"] == [{"rule": "fever", "severity": "warning", "alerts": 4}]


def test_the_screen_names_every_section_and_the_alert_source() -> None:
    console = Console(width=120, record=True)
    console.print(render(_report()))
    text = console.export_text()

    for part in ("feeds", "venue_scan", "consumer lag", "42", "fever", "from worker", "PAUSED"):
        assert part in text


def test_status_reads_only_metrics_of_the_catalogue() -> None:
    import streams.metrics  # noqa: F401  (registers the catalogue)

    registered = REGISTRY._names_to_collectors
    assert [name for name in READ_METRICS if name not in registered] == []


def test_watch_refreshes_until_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds: list[int] = []

    def collect(settings: Settings, **urls: str | None) -> Report:
        rounds.append(1)
        return _report()

    def sleep(seconds: float) -> None:
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(command, "collect_report", collect)
    monkeypatch.setattr(command.time, "sleep", sleep)
    result = CliRunner().invoke(command.status, ["--watch", "--json"], obj=Settings())

    assert result.exit_code == 0
    assert [json.loads(line)["worker"] for line in result.stdout.splitlines()] == [
        "127.0.0.1:9308"
    ] * 2
