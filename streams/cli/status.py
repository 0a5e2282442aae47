"""``controlfeed status``: the command ``streams.cli`` registers, and its screen.

Scrapes the worker's ``/metrics`` (``--url``; by default on
127.0.0.1:``CONTROLFEED_METRICS_PORT``) twice, a second apart (rates), asks
Prometheus (``--prometheus-url``) for the alerts of the last hour (falling back
to the worker's counters, and saying so), and draws one screen: feeds, lag,
alerts per rule, dead letters, sink. ``--json`` prints the same as one JSON
object (and an error as one too, through ``streams.cli.main``); ``--watch``
refreshes until Ctrl-C. A worker that does not answer is a
``ControlfeedError`` (exit status 2).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from datetime import datetime

import click
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from rules.clock import LOCAL_TZ
from streams.ops.status.report import Report, build_report
from streams.ops.status.sources import alerts_last_hour, base_url, scrape_worker
from streams.settings import Settings

__all__ = ["collect_report", "render", "status"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def collect_report(
    settings: Settings, gap: float = 1.0, *, url: str | None = None, prometheus: str | None = None
) -> Report:
    """Two scrapes of the worker ``gap`` seconds apart, and Prometheus's alerts if it answers.

    ``url`` is the worker's metrics URL (default: 127.0.0.1 and
    ``settings.metrics_port``), ``prometheus`` Prometheus's base URL (default: the
    local one). Raises ``ControlfeedError`` when the worker does not answer.
    """
    url = url or f"http://127.0.0.1:{settings.metrics_port}/metrics"
    prometheus = prometheus or settings.prometheus_url
    address = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]
    first = scrape_worker(url)
    time.sleep(gap)
    second = scrape_worker(url)
    alerts, why = alerts_last_hour(prometheus)
    if alerts is not None and not alerts.counts and any(second.alerts.values()):
        why = (
            f"Prometheus at {prometheus} has no alerts of the last hour but the "
            "worker has counted some: is Prometheus scraping this worker?"
        )
        alerts = None
    return build_report(address, first, second, alerts, why)


def _when(unix: float | None) -> str:
    if unix is None:
        return "-"
    return datetime.fromtimestamp(unix, LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S%z")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= size:
            return f"{sign}{s / size:.1f} {unit}"
    return f"{sign}{s:.0f} s"


def _table(title: str, columns: list[str], right: set[str]) -> Table:
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    return table


def render(report: Report) -> Group:
    """The screen of ``report``: feeds, lag, alerts, dead letters and sink."""
    head = Text(f"controlfeed status  worker {report.worker}  {_when(report.taken_at)}", "bold")
    feeds = _table(
        "feeds", ["feed", "events/s", "events", "late", "last event time", "behind"],
        {"events/s", "events", "late", "behind"},
    )  # fmt: skip
    for f in report.feeds:
        rate = f"{f.rate:,.1f}" if f.rate else "[yellow]0[/]"
        feeds.add_row(f.feed, rate, f"{f.total:,}", f"{f.late:,}",
                      _when(f.last_event_time), _duration(f.behind_s))  # fmt: skip
    lag = _table("consumer lag (partitions this worker holds)", ["topic", "records"], {"records"})
    for topic, records in report.lag.items():
        lag.add_row(topic, f"{records:,}")
    if not report.lag:
        lag.add_row("[dim]no lag reported yet[/]", "")
    a = report.alerts
    title = f"alerts per rule, {a.window} (from {a.source})"
    alerts = _table(title, ["rule", "severity", "alerts"], {"alerts"})
    for (rule, severity), n in sorted(a.counts.items()):
        alerts.add_row(rule, severity, f"{n:,}")
    if not a.counts:
        alerts.add_row("[dim]none[/]", "", "")
    s = report.sink
    paused = "[red bold]PAUSED[/]" if s.paused else "[green]consuming[/]"
    errors = f"[red]{s.errors:,}[/]" if s.errors else "0"
    sink = Text.from_markup(
        f"sink: {paused}  rows {s.rows:,}  batches {s.batches:,}  errors {errors}  "
        f"pending rows {s.pending_rows:,}"
    )
    dead = Text(f"dead letters: {report.dead_letters:,} ({report.dead_letter_rate:,.1f}/s)")
    return Group(head, feeds, lag, alerts, Text(a.note, "dim"), dead, sink)


@click.command()
@click.option(
    "--url",
    metavar="URL",
    help="The worker's metrics, e.g. http://worker-1:9308/metrics "
    "[default: http://127.0.0.1:CONTROLFEED_METRICS_PORT/metrics].",
)
@click.option(
    "--prometheus-url",
    metavar="URL",
    help="The Prometheus that scrapes it, for the alerts of the last hour "
    "[default: http://127.0.0.1:CONTROLFEED_PROMETHEUS_PORT].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON, for scripts.")
@click.option("--watch", is_flag=True, help="Refresh until Ctrl-C.")
@click.option(
    "--interval",
    type=click.FloatRange(min=1.0),
    default=5.0,
    show_default=True,
    help="Seconds between refreshes with --watch.",
)
@click.pass_obj
def status(
    settings: Settings,
    url: str | None,
    prometheus_url: str | None,
    as_json: bool,
    watch: bool,
    interval: float,
) -> None:
    """Feeds, lag, alerts of the last hour and sink health, from the worker's /metrics."""
    worker = base_url(url, "--url", "/metrics") if url else None
    prometheus = base_url(prometheus_url, "--prometheus-url") if prometheus_url else None
    try:
        while True:
            report = collect_report(settings, url=worker, prometheus=prometheus)
            if as_json:
                click.echo(json.dumps(report.to_json(), ensure_ascii=False))
            else:
                if watch:
                    _out.clear()
                _out.print(render(report), soft_wrap=True)
            if not watch:
                return
            time.sleep(max(interval - 1.0, 0.0))
    except KeyboardInterrupt:
        _err.print("stopped")
