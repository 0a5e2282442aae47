"""``controlfeed replay``: event files into the feed topics, paced or flat out.

Registered on the CLI group in ``streams/cli/root.py``. Checks the files and the
topics first (a missing topic is a message with the fix, or is created with
``--create-topics``), shows a progress bar with rate, ETA and sent / failed
counts, and ends with a summary per topic (``--json``: one JSON object on
standard output, errors too, through ``streams.cli.main``). Exit status: 0 when every record
was acknowledged; 1 when some were not (the summary names how many per topic
and the first files and lines); 2 for a bad file or option (``ControlfeedError``
through ``cli.main``); 130 on Ctrl-C, after the summary.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.devtools.replay.exceptions import TopicsMissingError
from streams.devtools.replay.files import check_file, count_lines
from streams.devtools.replay.producer import KafkaSink, RecordSink
from streams.devtools.replay.routing import Router
from streams.devtools.replay.runner import ReplayOptions, ReplayReport, run_replay
from streams.kafka.topics import TopicsError, declare_topics, missing_topics
from streams.progress import progress_bar
from streams.settings import Settings

__all__ = ["check_topics", "print_summary", "replay", "run_with_progress"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def check_topics(settings: Settings, topics: list[str], create: bool, timeout: float) -> None:
    """Make sure ``topics`` exist; create them if ``create``, else ``TopicsMissingError``.

    A broker that cannot be reached is a warning, not an error: the records
    then wait (and librdkafka retries) up to the delivery time-out, and the
    summary says what was not delivered.
    """
    try:
        missing = missing_topics(settings, topics, timeout=timeout)
    except TopicsError as err:
        _err.print(
            f"[yellow]warning:[/] {escape(str(err))}; topics not checked, sending anyway",
            soft_wrap=True,
        )
        return
    if missing and create:
        created = declare_topics(settings, timeout=timeout)
        _err.print(f"created {len(created)} topic(s): {', '.join(created)}")
    elif missing:
        raise TopicsMissingError(
            f"topic(s) missing on {settings.kafka_bootstrap_servers}: {', '.join(missing)}",
            hint="Run `controlfeed topics create` (or pass --create-topics); "
            "the broker creates no topic by itself.",
        )


@click.command()
@click.argument(
    "files",
    metavar="FILE...",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    help="Pace by event time: 1 = real time, 10 = ten times faster.",
)
@click.option(
    "--rate", type=click.FloatRange(min=0, min_open=True), help="Pace at N events per second."
)
@click.option(
    "--loop",
    "loops",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Send the files N times (unchanged: later loops are exact duplicates).",
)
@click.option("--skip-invalid", is_flag=True, help="Drop lines schemas.decode rejects.")
@click.option("--no-progress", is_flag=True, help="No progress bar (the summary still shows).")
@click.option("--create-topics", is_flag=True, help="Create missing pipeline topics first.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, for scripts.")
@click.option(
    "--delivery-timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to keep retrying a record before counting it as not delivered.",
)
@click.pass_obj
def replay(
    settings: Settings,
    files: tuple[Path, ...],
    speed: float | None,
    rate: float | None,
    loops: int,
    skip_invalid: bool,
    no_progress: bool,
    create_topics: bool,
    as_json: bool,
    delivery_timeout: float,
) -> None:
    """Send each non-blank line of FILE... (.jsonl or .jsonl.gz) to its feed's topic.

    Without --speed or --rate, as fast as possible. Malformed lines are sent
    raw (the pipeline quarantines them) unless --skip-invalid; a line whose
    feed cannot be read goes to the checkpoint-scans topic.
    """
    if speed is not None and rate is not None:
        raise click.UsageError("--speed and --rate exclude each other; pick one.")
    for path in files:
        check_file(path)  # unreadable files fail here, before anything is sent
    options = ReplayOptions(speed, rate, loops, skip_invalid, delivery_timeout)
    router = Router(settings.feed_topics())
    check_topics(settings, router.topics, create_topics, timeout=min(delivery_timeout, 10.0))
    sink = KafkaSink(settings, delivery_timeout)
    report = run_with_progress(list(files), router, sink, options, None if no_progress else _err)
    if as_json and report.error is None:
        summary = {**report.to_json(), "broker_error": sink.broker_error or None}
        click.echo(json.dumps(summary, ensure_ascii=False))
    elif not as_json and (report.lines or report.error is None):
        print_summary(report, _out)
    if sink.broker_error and not report.ok and not as_json:
        _out.print(f"last broker error: {escape(sink.broker_error)}", soft_wrap=True)
    if report.error is not None:
        raise report.error
    if report.interrupted:
        sys.exit(130)
    if not report.ok:
        sys.exit(1)


def run_with_progress(
    files: list[Path],
    router: Router,
    sink: RecordSink,
    options: ReplayOptions,
    console: Console | None,
) -> ReplayReport:
    """``run_replay`` under a progress bar on ``console`` (none if None or not a terminal).

    Called by the command and the ingest benchmark. The bar needs a total, so
    the files are read once beforehand to count their lines (a damaged file
    then fails here, before anything is sent).
    """
    if console is None or not console.is_terminal:
        return run_replay(files, router, sink, options)
    with console.status("counting lines..."):
        total = sum(count_lines(path) for path in files) * options.loops
    ledger = sink.ledger
    extra = (
        "sent {task.fields[sent]:,} delivered {task.fields[delivered]:,} "
        "failed {task.fields[failed]:,}"
    )
    with progress_bar(console, extra=extra) as bar:
        task = bar.add_task("replay", total=total, sent=0, delivered=0, failed=0)

        def update(done: int) -> None:
            bar.update(
                task,
                completed=done,
                sent=sum(ledger.sent.values()),
                delivered=sum(ledger.delivered.values()),
                failed=ledger.failed_total,
            )

        return run_replay(files, router, sink, options, on_progress=update)


def print_summary(report: ReplayReport, console: Console) -> None:
    """Per topic sent / delivered / failed, then totals, rate and what was not delivered."""
    ledger = report.ledger
    table = Table(title="replay", title_justify="left")
    for column in ("topic", "sent", "delivered", "failed", "unconfirmed"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for topic in report.topics:
        row = (ledger.sent[topic], ledger.delivered[topic], ledger.failures[topic])
        table.add_row(topic, *(f"{n:,}" for n in row), f"{ledger.unconfirmed(topic):,}")
    console.print(table)
    sent, delivered = sum(ledger.sent.values()), sum(ledger.delivered.values())
    seconds = max(report.elapsed, 1e-9)
    console.print(
        f"{report.lines:,} lines from {len(report.files)} file(s), {report.loops_done} loop(s) "
        f"done; {report.skipped_invalid:,} skipped as invalid; {sent:,} sent, "
        f"{delivered:,} delivered in {report.elapsed:.2f} s "
        f"({delivered / seconds:,.0f} ev/s, {report.bytes_sent / seconds / 1e6:.1f} MB/s)",
        soft_wrap=True,
    )
    if not report.ok:
        _print_losses(report, console)


def _print_losses(report: ReplayReport, console: Console) -> None:
    ledger = report.ledger
    lost = sum(ledger.failures.values()) + sum(ledger.unconfirmed(t) for t in report.topics)
    if lost:
        console.print(f"[red]NOT DELIVERED: {lost:,} record(s)[/]")
    for topic in report.topics:
        failed, unconfirmed = ledger.failures[topic], ledger.unconfirmed(topic)
        if not failed and not unconfirmed:
            continue
        first = ", ".join(report.where(w) for w in ledger.first_failures.get(topic, [])[:5])
        console.print(
            f"  {topic}: {failed:,} failed, {unconfirmed:,} unconfirmed"
            + (f"; first: {escape(first)}" if first else ""),
            soft_wrap=True,
        )
    if ledger.first_error:
        console.print(f"  reason: {escape(ledger.first_error)}", soft_wrap=True)
    if report.stopped_at is not None:
        loop, where = report.stopped_at
        why = "was interrupted" if report.interrupted else "stopped at the first failed delivery"
        console.print(
            f"[red]NOT SENT:[/] the replay {why}; lines from "
            f"{escape(report.where(where))} (loop {loop + 1}) on were not sent.",
            soft_wrap=True,
        )
