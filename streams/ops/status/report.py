"""What ``controlfeed status`` shows, computed from ``/metrics`` text: no I/O here.

``parse_snapshot`` turns one scrape of the worker into a ``Snapshot``;
``build_report`` turns two snapshots a second apart (and, when Prometheus
answered, its alert counts of the last hour) into the ``Report`` the command
draws or prints as JSON. The metric names are those of ``streams.metrics``
(a unit test checks they agree); they are spelled out here so that the CLI does
not register the worker's metrics in its own process.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Final

from prometheus_client.parser import text_string_to_metric_families

__all__ = [
    "LIVE_FEEDS",
    "READ_METRICS",
    "AlertCounts",
    "FeedRow",
    "Report",
    "SinkHealth",
    "Snapshot",
    "build_report",
    "parse_snapshot",
    "worker_alert_counts",
]

LIVE_FEEDS: Final = ("checkpoint_scan", "venue_scan", "patrol_event")
"""Feeds expected to flow all the time (``risk_area`` and ``venue`` change rarely)."""
_EVENTS: Final = "controlfeed_events_total"
_LATE: Final = "controlfeed_late_events_total"
_LAST_TIME: Final = "controlfeed_last_event_time_seconds"
_LAG: Final = "controlfeed_consumer_lag_records"
_ALERTS: Final = "controlfeed_alerts_total"
_DEAD: Final = "controlfeed_dead_letters_total"
_SINK_ROWS: Final = "controlfeed_sink_rows_total"
_SINK_BATCHES: Final = "controlfeed_sink_batches_total"
_SINK_ERRORS: Final = "controlfeed_sink_errors_total"
_SINK_PENDING: Final = "controlfeed_sink_pending_rows"
_SINK_PAUSED: Final = "controlfeed_sink_paused"
READ_METRICS: Final = (
    _EVENTS, _LATE, _LAST_TIME, _LAG, _ALERTS, _DEAD,
    _SINK_ROWS, _SINK_BATCHES, _SINK_ERRORS, _SINK_PENDING, _SINK_PAUSED,
)  # fmt: skip
"""Every sample name the status reads from ``/metrics``."""


@dataclass(frozen=True)
class Snapshot:
    """One scrape of the worker's ``/metrics``, reduced to what the status shows."""

    taken_at: float
    """Wall clock of the scrape, unix seconds."""
    events: dict[str, float] = field(default_factory=dict)
    """Valid events read since the worker started, by feed."""
    late: dict[str, float] = field(default_factory=dict)
    """Late events since the worker started, by feed."""
    last_event_time: dict[str, float] = field(default_factory=dict)
    """Highest event time read, by feed (unix seconds)."""
    lag: dict[str, float] = field(default_factory=dict)
    """Consumer lag summed over the partitions this worker holds, by topic."""
    alerts: dict[tuple[str, str], float] = field(default_factory=dict)
    """Alerts since the worker started, by (rule, severity)."""
    dead_letters: float = 0.0
    """Dead letters since the worker started, all reasons."""
    sink: dict[str, float] = field(default_factory=dict)
    """Sink totals and gauges by sample name (rows, batches, errors summed over tables)."""


def parse_snapshot(text: str, taken_at: float) -> Snapshot:
    """The ``Snapshot`` of one ``/metrics`` text; samples of other metrics are ignored.

    Raises ``ValueError`` when the text is not the Prometheus text format.
    """
    snap = Snapshot(taken_at=taken_at)
    sums: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels, value = s.labels, float(s.value)
            if s.name == _EVENTS:
                snap.events[labels["feed"]] = value
            elif s.name == _LATE:
                snap.late[labels["feed"]] = value
            elif s.name == _LAST_TIME:
                snap.last_event_time[labels["feed"]] = value
            elif s.name == _LAG:
                snap.lag[labels["topic"]] = snap.lag.get(labels["topic"], 0.0) + value
            elif s.name == _ALERTS:
                snap.alerts[(labels["rule"], labels["severity"])] = value
            elif s.name in (_DEAD, _SINK_ROWS, _SINK_BATCHES, _SINK_ERRORS):
                sums[s.name] += value
            elif s.name in (_SINK_PENDING, _SINK_PAUSED):
                snap.sink[s.name] = value
    for name in (_SINK_ROWS, _SINK_BATCHES, _SINK_ERRORS):
        snap.sink[name] = sums[name]
    return replace(snap, dead_letters=sums[_DEAD])


@dataclass(frozen=True)
class FeedRow:
    """One feed's line of the screen."""

    feed: str
    """Feed name of ``docs/feeds.md``."""
    rate: float
    """Valid events per second between the two scrapes."""
    total: int
    """Valid events since the worker started."""
    late: int
    """Late events since the worker started."""
    last_event_time: float | None
    """Highest event time read (unix seconds), ``None`` before the first event."""
    behind_s: float | None
    """Seconds that event time trails the wall clock, ``None`` before the first event."""


@dataclass(frozen=True)
class AlertCounts:
    """Alerts per rule and severity, and where the numbers come from."""

    source: str
    """``prometheus`` (its last hour) or ``worker`` (the worker's counters)."""
    window: str
    """``last 1h`` or ``since the worker started``."""
    note: str
    """One sentence on the source, shown under the table."""
    counts: dict[tuple[str, str], int]
    """Alerts by (rule, severity); rules without alerts are left out."""


@dataclass(frozen=True)
class SinkHealth:
    """The ClickHouse sink's counters (all tables) and state."""

    rows: int
    batches: int
    errors: int
    pending_rows: int
    paused: bool


@dataclass(frozen=True)
class Report:
    """Everything ``controlfeed status`` shows."""

    worker: str
    """``host:port`` of the worker's ``/metrics``."""
    taken_at: float
    """Wall clock of the second scrape, unix seconds."""
    feeds: list[FeedRow]
    lag: dict[str, int]
    """Consumer lag by topic (records), summed over the partitions the worker holds."""
    alerts: AlertCounts
    dead_letters: int
    dead_letter_rate: float
    """Dead letters per second between the two scrapes."""
    sink: SinkHealth

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON types, for ``--json``."""
        return {
            "worker": self.worker,
            "taken_at": self.taken_at,
            "feeds": [row.__dict__ for row in self.feeds],
            "lag": self.lag,
            "alerts": {
                "source": self.alerts.source,
                "window": self.alerts.window,
                "note": self.alerts.note,
                "counts": [
                    {"rule": rule, "severity": sev, "alerts": n}
                    for (rule, sev), n in sorted(self.alerts.counts.items())
                ],
            },
            "dead_letters": {"total": self.dead_letters, "per_second": self.dead_letter_rate},
            "sink": self.sink.__dict__,
        }


def _per_second(before: float, after: float, seconds: float) -> float:
    """A counter's rate; 0 when it went back (the worker restarted between scrapes)."""
    return max(after - before, 0.0) / seconds if seconds > 0 else 0.0


def _feed_rows(first: Snapshot, second: Snapshot) -> list[FeedRow]:
    seconds = second.taken_at - first.taken_at
    names = [*LIVE_FEEDS, *sorted(set(second.events) - set(LIVE_FEEDS))]
    rows = []
    for feed in names:
        last = second.last_event_time.get(feed)
        rows.append(
            FeedRow(
                feed=feed,
                rate=_per_second(
                    first.events.get(feed, 0.0), second.events.get(feed, 0.0), seconds
                ),
                total=int(second.events.get(feed, 0.0)),
                late=int(second.late.get(feed, 0.0)),
                last_event_time=last,
                behind_s=None if last is None else second.taken_at - last,
            )
        )
    return rows


def _sink(snap: Snapshot) -> SinkHealth:
    return SinkHealth(
        rows=int(snap.sink.get(_SINK_ROWS, 0.0)),
        batches=int(snap.sink.get(_SINK_BATCHES, 0.0)),
        errors=int(snap.sink.get(_SINK_ERRORS, 0.0)),
        pending_rows=int(snap.sink.get(_SINK_PENDING, 0.0)),
        paused=snap.sink.get(_SINK_PAUSED, 0.0) >= 1,
    )


def worker_alert_counts(snap: Snapshot, why: str) -> AlertCounts:
    """Alert counts from the worker's own counters, when Prometheus cannot give the hour."""
    counts = {key: int(n) for key, n in snap.alerts.items() if n > 0}
    return AlertCounts("worker", "since the worker started", why, counts)


def build_report(
    worker: str, first: Snapshot, second: Snapshot, alerts: AlertCounts | None, why: str = ""
) -> Report:
    """The report of two scrapes; ``alerts`` from Prometheus, or ``None`` to use the worker's.

    ``why`` says why Prometheus was not used (shown with the worker's counts).
    Called by ``streams.cli.status`` once per refresh.
    """
    seconds = second.taken_at - first.taken_at
    return Report(
        worker=worker,
        taken_at=second.taken_at,
        feeds=_feed_rows(first, second),
        lag={topic: int(n) for topic, n in sorted(second.lag.items())},
        alerts=alerts if alerts is not None else worker_alert_counts(second, why),
        dead_letters=int(second.dead_letters),
        dead_letter_rate=_per_second(first.dead_letters, second.dead_letters, seconds),
        sink=_sink(second),
    )
