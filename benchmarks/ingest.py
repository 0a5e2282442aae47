"""Ingest benchmark: generate a file, replay it flat out, compare with Kafka's own perf test.

Run ``.venv/bin/python -m benchmarks.ingest [--events N]`` from the checkout.
In one run it:

1. generates ~N events with ``controlfeed generate`` (timed; the start-up of
   the command, measured with ``--help``, is subtracted and shown), or, when
   that command is missing, writes a synthetic file and says so;
2. replays the file as fast as possible into a fresh set of topics (the
   in-process replay loop with its Kafka producer; elapsed time runs until the
   last record is acknowledged);
3. runs Kafka's ``kafka-producer-perf-test`` (``ProducerPerformance`` from the
   cached jars) with the same record count and the file's average record
   size, ``acks=all``, ``--throughput -1``: once with the Java client's
   defaults and once with replay's batching (linger 20 ms, 1 MB batches);
4. prints a table: events/s and MB/s (10^6 bytes), replay against each perf
   test, and the targets (generate >= 200k ev/s, replay >= 50k ev/s).

``--repeat R`` runs replay and each perf test R times and keeps the best of
each: other work on a 2-core machine moves single runs by tens of percent.

It starts Kafka if needed (``Stack(settings, ("kafka",)).up()``) and deletes
every topic it created. Exit status 0 when the targets that were measured are
met, 1 otherwise.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import click
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]
from rich import box
from rich.console import Console
from rich.table import Table

from benchmarks.synthetic import write_synthetic
from streams.cli.replay import print_summary, run_with_progress
from streams.devtools.replay import KafkaSink, ReplayOptions, Router
from streams.devtools.replay.files import read_lines
from streams.devtools.stack import KafkaRelease, Stack
from streams.kafka.clients import admin_client
from streams.kafka.topics import declare_topics, pipeline_topics
from streams.settings import Settings

__all__ = ["Figure", "main"]

GENERATE_TARGET = 200_000.0
REPLAY_TARGET = 50_000.0
CLI = [sys.executable, "-c", "from streams.cli import main; main()"]
_PERF_PROPS: tuple[dict[str, str], ...] = ({}, {"linger.ms": "20", "batch.size": "1000000"})
"""The perf test's runs: the Java client's defaults, then replay's batching."""
_PERF_LINE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec")

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class Figure:
    """One measured stage: how many events in how long."""

    stage: str
    """What ran, e.g. ``replay``."""
    events: int
    """Events (records) it handled."""
    seconds: float
    """Time it took."""
    size: int
    """Bytes it handled (record values)."""
    target: float | None = None
    """Events per second it must reach, if it has a target."""
    note: str = ""
    """How it was measured."""

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        """Megabytes (10^6 bytes) per second."""
        return self.size / self.seconds / 1e6 if self.seconds else 0.0


def _file_stats(path: Path) -> tuple[int, int]:
    """(non-blank lines, bytes of those lines) of an event file."""
    lines = size = 0
    for _, line in read_lines(path):
        lines += 1
        size += len(line)
    return lines, size


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise click.ClickException(f"{' '.join(command[3:])} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def _generate(out: Path, events: int) -> Figure:
    """Time ``controlfeed generate`` for ~``events`` events; synthetic file if it is missing."""
    from streams.cli import cli

    if "generate" not in cli.commands:
        _err.print("[yellow]controlfeed generate is not available: writing a synthetic file[/]")
        started = time.perf_counter()
        write_synthetic(out, events)
        lines, size = _file_stats(out)
        note = "FALLBACK: synthetic file (benchmarks/synthetic.py), no target"
        return Figure("generate", lines, time.perf_counter() - started, size, None, note)
    args = ["generate", str(out), "--seed", "7", "--start", "2022-10-14T08:00:00+08:00"]
    args += ["--duration", "1h", "--population", "50000", "--rate", f"{events / 3600:.3f}"]
    args += ["--anomaly-rate", "0.001", "--malformed-rate", "0.001", "--no-progress"]
    with _err.status("timing the start-up of `controlfeed generate`..."):
        startup = _timed([*CLI, "generate", "--help"])
    with _err.status(f"controlfeed generate: ~{events:,} events..."):
        seconds = _timed([*CLI, *args])
    lines, size = _file_stats(out)
    note = f"controlfeed generate; {seconds:.2f} s wall less {startup:.2f} s start-up"
    return Figure("generate", lines, max(seconds - startup, 1e-9), size, GENERATE_TARGET, note)


def _replay(settings: Settings, path: Path) -> Figure:
    """Replay ``path`` flat out into ``settings``' topics; print replay's own summary."""
    sink = KafkaSink(settings, delivery_timeout=60.0)
    options = ReplayOptions()
    report = run_with_progress([path], Router(settings.feed_topics()), sink, options, _err)
    print_summary(report, _out)
    if not report.ok:
        raise click.ClickException("the replay did not deliver every record; see above")
    delivered = sum(report.ledger.delivered.values())
    note = "controlfeed replay loop, confluent-kafka, acks=all, idempotent"
    return Figure("replay", delivered, report.elapsed, report.bytes_sent, REPLAY_TARGET, note)


def _perf_test(
    settings: Settings, topic: str, events: int, record_size: int, props: dict[str, str]
) -> Figure:
    """Run ``ProducerPerformance`` and read its final line."""
    libs = KafkaRelease(settings).libs
    all_props = {"bootstrap.servers": settings.kafka_bootstrap_servers, "acks": "all", **props}
    command = ["java", "-cp", f"{libs}/*", "org.apache.kafka.tools.ProducerPerformance"]
    command += ["--topic", topic, "--num-records", str(events), "--record-size", str(record_size)]
    command += ["--throughput", "-1", "--producer-props"]
    command += [f"{k}={v}" for k, v in all_props.items()]
    label = " ".join(f"{k}={v}" for k, v in props.items()) or "the Java client's defaults"
    stage = "perf: batched" if props else "perf: defaults"
    with _err.status(f"kafka-producer-perf-test ({label})..."):
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
    found = _PERF_LINE.findall(done.stdout)
    if done.returncode != 0 or not found:
        raise click.ClickException(f"perf test failed:\n{done.stdout[-1000:]}{done.stderr[-1000:]}")
    sent, per_second = int(found[-1][0]), float(found[-1][1])
    seconds = sent / per_second
    note = f"ProducerPerformance, acks=all, --throughput -1, {record_size} B records, {label}"
    return Figure(stage, sent, seconds, sent * record_size, None, note)


def _fresh(settings: Settings) -> Settings:
    """``settings`` with topic names of this run only."""
    tag = f"bench.{uuid.uuid4().hex[:8]}"
    fields = [f for f in Settings.model_fields if f.startswith("topic_")]
    names = [f for f in fields if f not in ("topic_partitions", "topic_replication_factor")]
    return settings.model_copy(update={f: f"{tag}.{f.removeprefix('topic_')}" for f in names})


def _table(figures: list[Figure]) -> Table:
    replay = next(f for f in figures if f.stage == "replay")
    title = "ingest benchmark (2-core machine, local Kafka)"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("stage", "events", "seconds", "events/s", "MB/s", "ratio", "target"):
        right = column not in ("stage", "target")
        table.add_column(column, justify="right" if right else "left", no_wrap=not right)
    for f in figures:
        ratio = f"{replay.rate / f.rate:.2f}" if f.stage.startswith("perf") and f.rate else ""
        target = "-"
        if f.target is not None:
            verdict = "[green]met[/]" if f.rate >= f.target else "[red]MISSED[/]"
            target = f"{verdict} {f.target / 1000:.0f}k/s"
        table.add_row(
            f.stage, f"{f.events:,}", f"{f.seconds:.2f}", f"{f.rate:,.0f}", f"{f.mb_per_s:.1f}",
            ratio, target,
        )  # fmt: skip
    return table


def _print_notes(figures: list[Figure]) -> None:
    _out.print("ratio: replay's events/s divided by this row's. How each stage was measured:")
    for f in figures:
        _out.print(f"  {f.stage}: {f.note}", soft_wrap=True)


def _best(runs: list[Figure]) -> Figure:
    return max(runs, key=lambda f: f.rate)


def _run(settings: Settings, events: int, repeat: int, workdir: Path) -> list[Figure]:
    path = workdir / "bench.jsonl"
    figures = [_generate(path, events)]
    lines, size = _file_stats(path)
    record_size = round(size / lines)
    _err.print(f"{lines:,} events, {size / 1e6:.1f} MB, {record_size} bytes on average")
    own = _fresh(settings)
    perf_topics = [f"{own.topic_alerts}.perf-{i}" for i in range(len(_PERF_PROPS))]
    admin = admin_client(settings, log_level=2)
    try:
        declare_topics(own)
        new = [NewTopic(t, settings.topic_partitions, 1) for t in perf_topics]
        for future in admin.create_topics(new).values():
            future.result()
        figures.append(_best([_replay(own, path) for _ in range(repeat)]))
        for topic, props in zip(perf_topics, _PERF_PROPS, strict=True):
            runs = [_perf_test(settings, topic, lines, record_size, props) for _ in range(repeat)]
            figures.append(_best(runs))
    finally:
        names = [s.name for s in pipeline_topics(own)] + perf_topics
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.exception()  # a topic never created is fine to miss
    return figures


@click.command()
@click.option("--events", type=click.IntRange(min=1000), default=500_000, show_default=True)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run replay and each perf test this many times and keep the best (a shared machine).",
)
def main(events: int, repeat: int) -> None:
    """Time generate, replay and Kafka's perf test on the same events; print the table."""
    settings = Settings()
    with _err.status("starting Kafka (the first start fetches it)..."):
        Stack(settings, ("kafka",)).up()
    with tempfile.TemporaryDirectory(prefix="controlfeed-bench-") as tmp:
        figures = _run(settings, events, repeat, Path(tmp))
    _out.print(_table(figures))
    _print_notes(figures)
    if any(f.target is not None and f.rate < f.target for f in figures):
        sys.exit(1)


if __name__ == "__main__":
    main()
