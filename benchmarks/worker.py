"""``python -m benchmarks.worker``: the worker against a plain consumer, and detection latency.

In one run, on one machine with the local Kafka (started if needed):

1. **Throughput**. A generated scenario (default ~200,000 events, every rule
   on) is replayed flat out into a fresh set of topics. Then, on those same
   topics, (a) a plain aiokafka consumer reads every record from the start
   and only decodes it (``json.loads``), and (b) ``controlfeed worker`` (a
   fresh consumer group and engine topic) processes them: decode, validate,
   pseudonymise, route through the engine topic, every rule, alerts out. The
   worker's clock runs from its first record read (its ``/metrics``:
   ``controlfeed_events_total`` + ``controlfeed_dead_letters_total``) to the
   moment its ingest and engine groups have committed offsets at the ends of
   their topics (every record processed, its output committed). The alerts are
   checked against the scenario's labels, so a fast-but-wrong worker does not pass.
2. **Latency**. A second scenario is replayed at a steady rate (default 2,000
   events/s for 30 s) into fresh topics while a worker runs. Every alert
   carries the Kafka timestamp of the record that raised it
   (``controlfeed.cause.timestamp``); latency is the moment a downstream
   reader (read_committed, following the alerts topic during the run) sees
   the alert, minus that, reported as p50/p99 per detection path
   (``rules.detection_path``): *immediate* alerts are final on arrival,
   *ordered* ones wait for the watermark (``docs/watermark.md``), so their
   latency is the allowed lateness by design.

``--workers N`` runs N worker processes in one group for the throughput part
(each its own metrics port and, with ``--sink``, its own chDB folder), to
measure scaling out on the machine's cores.

Targets (issue 4): worker >= 50 % of the plain consumer's events/s; immediate
p99 <= 200 ms. Exit 1 when a target is missed. Every topic the run made is
deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import TopicPartition as CKTopicPartition
from prometheus_client.parser import text_string_to_metric_families
from rich import box
from rich.console import Console
from rich.table import Table

from rules import detection_path
from schemas.decode import decode
from streams.devtools.replay import KafkaSink, ReplayOptions, Router
from streams.devtools.replay.runner import run_replay
from streams.devtools.scenario import ScenarioOptions, generate_to
from streams.devtools.stack import Stack
from streams.devtools.stack.process import port_is_open, terminate
from streams.kafka import clients
from streams.kafka.clients import admin_client
from streams.kafka.read import group_lag, read_topic
from streams.kafka.stage import headers
from streams.kafka.topics import declare_topics, pipeline_topics
from streams.metrics import DETECTION_PATHS
from streams.progress import progress_bar
from streams.settings import Settings
from streams.wire import cause_ms

__all__ = ["main"]

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]
THROUGHPUT_RATIO_TARGET = 0.5
"""The worker's events/s over the plain consumer's (issue 4)."""
IMMEDIATE_P99_TARGET_S = 0.2
"""p99 detection latency of immediate alerts at the steady rate (issue 4)."""

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


@dataclass
class Run:
    """What one benchmark run measured."""

    events: int = 0
    """Input records of the throughput scenario."""
    plain_s: float = 0.0
    """Seconds the plain consumer with ``json.loads`` took."""
    decode_s: float = 0.0
    """Seconds the plain consumer with ``schemas.decode`` took."""
    worker_s: float = 0.0
    """Seconds the worker took."""
    worker_cpu_s: float = 0.0
    """CPU seconds the worker process(es) used meanwhile (every thread, librdkafka's too)."""
    workers: int = 1
    """Worker processes in one group for the throughput run."""
    alerts_ok: str = ""
    """The throughput run's alerts against the labels: "exact" or what differs."""
    rate: float = 0.0
    """The steady rate of the latency run, events/s."""
    latency_events: int = 0
    """Events replayed in the latency run."""
    latencies: dict[str, list[float]] = field(default_factory=dict)
    """Seconds per alert, by detection path."""


def _fresh(settings: Settings, port: int, workdir: Path | None = None) -> Settings:
    """``settings`` with topics, engine topic, group and metrics port of this run only."""
    tag = f"bench.{uuid.uuid4().hex[:8]}"
    names = [f for f in Settings.model_fields if f.startswith("topic_")]
    names = [f for f in names if f not in ("topic_partitions", "topic_replication_factor")]
    update: dict[str, Any] = {f: f"{tag}.{f.removeprefix('topic_')}" for f in names}
    # The sink is measured on its own (benchmarks/sink.py): off unless --sink, then into
    # the configured store (chDB in the run's folder when no server is configured).
    update |= {"worker_group": f"{tag}-worker", "metrics_port": port, "sink_enabled": False}
    if workdir is not None:
        update |= {"sink_enabled": True, "data_dir": workdir / tag}
    return settings.model_copy(update=update)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _generate(
    path: Path, events: int, seconds: int, seed: int, anomaly_rate: float = 0.001
) -> dict[str, Any]:
    """A scenario of about ``events`` events over ``seconds`` of event time; its labels."""
    options = ScenarioOptions(
        seed=seed,
        duration_s=seconds,
        rate=events / seconds,
        population=max(events // 4, 1000),
        anomaly_rate=anomaly_rate,
    )
    with _err.status(f"generating ~{events:,} events..."):
        generate_to(path, options)
    labels: dict[str, Any] = json.loads(path.with_name(path.name[:-6] + ".labels.json").read_text())
    return labels


def _replay(settings: Settings, path: Path, rate: float | None = None) -> int:
    """Replay ``path`` into ``settings``' topics (flat out, or at ``rate``); records sent."""
    sink = KafkaSink(settings, delivery_timeout=60.0)
    report = run_replay([path], Router(settings.feed_topics()), sink, ReplayOptions(rate=rate))
    if not report.ok:
        raise click.ClickException("the replay did not deliver every record")
    return sum(report.ledger.delivered.values())


async def _plain(settings: Settings, records: int, decode: Callable[[bytes], object]) -> float:
    """Seconds a plain aiokafka consumer takes to read and ``decode`` ``records``."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        parts = [
            TopicPartition(t, p)
            for t in settings.feed_topics().values()
            for p in range(settings.topic_partitions)
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        seen, started = 0, 0.0
        while seen < records:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not started and batch:
                started = time.perf_counter()
            for messages in batch.values():
                for m in messages:
                    decode(m.value or b"")
                seen += len(messages)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def _json_loads(value: bytes) -> object:
    """``json.loads``, a malformed line included (decoding it is the work)."""
    try:
        return json.loads(value)
    except ValueError:
        return None


def _metrics_text(port: int) -> str:
    """The worker's ``/metrics`` page ('' when it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def _sums(text: str) -> dict[str, float]:
    """Sums of the counters of a ``/metrics`` page by metric name."""
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_total"):
                sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def _end_offsets(settings: Settings, topic: str, partitions: int) -> int:
    consumer = clients.consumer(settings, "controlfeed-bench", "controlfeed-bench")
    try:
        return sum(
            consumer.get_watermark_offsets(CKTopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        )
    finally:
        consumer.close()


@contextmanager
def _worker(
    settings: Settings, log: Path, key: str, args: Sequence[str] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker with the pseudonym ``key``: workers of one group must share it, or one
    person's events read by two workers get two person keys (``--demo-key`` would give
    each a throwaway key of its own). ``args`` go on its command line."""
    env = {**os.environ, **settings.to_env(), "CONTROLFEED_PSEUDONYM_KEY": key}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*CLI, "worker", "--loglevel", "warning", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not port_is_open(settings.metrics_port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise click.ClickException(f"the worker did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        terminate(proc)


def _worker_run(
    settings: Settings,
    records: int,
    log: Path,
    workers: int = 1,
    *,
    args: Sequence[str] = (),
    label: str = "",
    mark: Callable[[str, list[int]], None] | None = None,
) -> tuple[float, float]:
    """Seconds from the first record read to the engines having processed everything, and
    the workers' CPU seconds (their ``process_cpu_seconds_total``) in that time.

    Done is the ingest and engine groups' committed offsets at the ends of their
    topics (``_engines_done``): with one worker or several (``--workers``), every
    record processed and its output committed. ``args`` go on each worker's command
    line, ``label`` names the progress bar, and ``mark`` is called with ``"start"``
    and then ``"done"`` and the workers' pids when the clock starts and stops
    (``benchmarks.peers`` reads their CPU time there).
    """
    own = [
        settings.model_copy(
            update={"metrics_port": settings.metrics_port if i == 0 else _free_port()}
        )
        for i in range(workers)
    ]
    if settings.sink_enabled:
        own = [w.model_copy(update={"data_dir": w.data_dir / f"w{i}"}) for i, w in enumerate(own)]
    key = uuid.uuid4().hex
    with ExitStack() as stack, progress_bar(_err) as bar:
        procs = [
            stack.enter_context(_worker(w, log.with_name(f"{log.stem}-{i}{log.suffix}"), key, args))
            for i, w in enumerate(own)
        ]
        label = label or ("worker" if workers == 1 else f"{workers} workers")
        task = bar.add_task(label, total=records)
        started = done_at = cpu_at_start = cpu = 0.0
        while not done_at:
            for proc in procs:
                if proc.poll() is not None:
                    raise click.ClickException(f"a worker stopped; see {log.parent}")
            pages = [_metrics_text(w.metrics_port) for w in own]
            metrics = [_sums(page) for page in pages]
            read = sum(
                m.get("controlfeed_events_total", 0) + m.get("controlfeed_dead_letters_total", 0)
                for m in metrics
            )
            now = time.perf_counter()
            cpu = sum(m.get("process_cpu_seconds_total", 0) for m in metrics)
            if read and not started:
                started, cpu_at_start = now, cpu
                if mark is not None:
                    mark("start", [p.pid for p in procs])
            bar.update(task, completed=min(read, records))
            if read >= records and _engines_done(settings):
                done_at = now
                if mark is not None:
                    mark("done", [p.pid for p in procs])
            time.sleep(0.25)
        _settle(settings)
    return done_at - started, cpu - cpu_at_start


def _engines_done(settings: Settings) -> bool:
    """Every input record ingested and every engine record processed, their output
    committed: the ingest and engine groups' committed offsets at the ends (last stable
    offsets) of their topics."""
    ingest = group_lag(settings, settings.worker_group, list(settings.feed_topics().values()))
    engine = group_lag(settings, f"{settings.worker_group}-engine", [settings.topic_engine])
    return bool(engine) and not any(ingest.values()) and not any(engine.values())


def _read_alerts(settings: Settings) -> list[tuple[dict[str, Any], float, float | None]]:
    """Every alert on the alerts topic: (alert, its timestamp s, cause timestamp s)."""
    out: list[tuple[dict[str, Any], float, float | None]] = []
    for m in read_topic(settings, settings.topic_alerts):
        cause = cause_ms(headers(m))
        out.append(
            (
                json.loads(m.value() or b"{}"),
                m.timestamp()[1] / 1000,
                cause / 1000 if cause is not None else None,
            )
        )
    return out


def _settle(settings: Settings, quiet_s: float = 5.0, timeout: float = 120.0) -> None:
    """Wait until the alerts topic stops growing for ``quiet_s`` (the idle drain)."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = _end_offsets(settings, settings.topic_alerts, settings.topic_partitions)
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.5)


def _compare(alerts: list[dict[str, Any]], labels: dict[str, Any]) -> str:
    def ident(a: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
        return (a["rule"], a["severity"], tuple(a["evidence"]))

    got, want = {ident(a) for a in alerts}, {ident(a) for a in labels["alerts"]}
    if got == want:
        return f"exact ({len(want):,} alerts)"
    return f"DIFFERENT: {len(want - got)} missing, {len(got - want)} unexpected"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _throughput(
    settings: Settings, events: int, workdir: Path, run: Run, sink: bool, workers: int
) -> None:
    path = workdir / "throughput.jsonl"
    labels = _generate(path, events, 3600, seed=11)
    own = _fresh(settings, _free_port(), workdir if sink else None)
    try:
        declare_topics(own)
        with _err.status("replaying the scenario into fresh topics..."):
            run.events = _replay(own, path)
        with _err.status("plain aiokafka consumer, json.loads..."):
            run.plain_s = asyncio.run(_plain(own, run.events, _json_loads))
        with _err.status("plain aiokafka consumer, schemas.decode..."):
            run.decode_s = asyncio.run(_plain(own, run.events, decode))
        run.worker_s, run.worker_cpu_s = _worker_run(
            own, run.events, workdir / "worker-throughput.log", workers
        )
        run.workers = workers
        run.alerts_ok = _compare([a for a, _, _ in _read_alerts(own)], labels)
    finally:
        _delete(own)


def _latency(
    settings: Settings, rate: float, seconds: int, workdir: Path, run: Run, sink: bool
) -> None:
    path = workdir / "latency.jsonl"
    events = int(rate * seconds)
    # More anomalies than the throughput run, so the percentiles rest on hundreds of alerts.
    _generate(path, events, max(seconds * 60, 600), seed=12, anomaly_rate=0.01)
    own = _fresh(settings, _free_port(), workdir if sink else None)
    run.rate = rate
    try:
        declare_topics(own)
        follower = _Follower(own)
        with _worker(own, workdir / "worker-latency.log", uuid.uuid4().hex):
            time.sleep(8)  # joined and assigned; sources idle before the burst
            follower.start()
            done = threading.Event()

            def replay() -> None:
                run.latency_events = _replay(own, path, rate)
                done.set()

            thread = threading.Thread(target=replay)
            thread.start()
            with progress_bar(_err) as bar:
                task = bar.add_task(f"replay at {rate:,.0f} ev/s", total=seconds)
                started = time.monotonic()
                while not done.wait(0.5):
                    bar.update(task, completed=min(time.monotonic() - started, seconds))
            thread.join()
            with _err.status("waiting for the last alerts..."):
                _settle(own)
            follower.stop()
        for alert, at, cause in follower.seen:
            if cause is not None:
                kind = detection_path(alert["rule"], alert["severity"])
                run.latencies.setdefault(kind, []).append(max(at - cause, 0.0))
    finally:
        _delete(own)


class _Follower:
    """A downstream reader of the alerts topic (read_committed) during the latency run:
    each alert's latency is when it became visible to such a reader, minus its cause."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.seen: list[tuple[dict[str, Any], float, float | None]] = []
        """(alert, wall time it was read, cause timestamp s)."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        settings = self._settings
        reader = clients.consumer(settings, f"bench-follow-{uuid.uuid4().hex}", "bench-follow",
                                  **{"fetch.wait.max.ms": 10})  # fmt: skip
        parts = [
            CKTopicPartition(settings.topic_alerts, p, 0) for p in range(settings.topic_partitions)
        ]
        reader.assign(parts)
        try:
            while not self._stop.is_set():
                for m in reader.consume(1000, 0.005):  # stamps within 5 ms
                    if m.error() is not None:
                        continue
                    now = time.time()
                    raw = cause_ms(headers(m))
                    cause = raw / 1000 if raw is not None else None
                    self.seen.append((json.loads(m.value() or b"{}"), now, cause))
        finally:
            reader.close()


def _delete(settings: Settings) -> None:
    admin = admin_client(settings)
    names = [t.name for t in pipeline_topics(settings)]
    names += [settings.topic_engine, settings.topic_state]
    for future in admin.delete_topics(names, operation_timeout=30).values():
        future.exception()  # a topic never created is fine to miss


def _report(run: Run) -> bool:
    """Print the tables; whether every target was met."""
    plain, worker = run.events / run.plain_s, run.events / run.worker_s
    decoding = run.events / run.decode_s
    ratio = worker / decoding
    met = ratio >= THROUGHPUT_RATIO_TARGET
    table = Table(title="worker throughput (same topics, one run)", box=box.SIMPLE_HEAD)
    for column in ("consumer", "events", "seconds", "events/s", "worker / this", "target"):
        table.add_column(column, justify="left" if column in ("consumer", "target") else "right")
    table.add_row("plain aiokafka, json.loads", f"{run.events:,}", f"{run.plain_s:.2f}",
                  f"{plain:,.0f}", f"{worker / plain:.2f}", "")  # fmt: skip
    table.add_row("plain aiokafka, schemas.decode", f"{run.events:,}", f"{run.decode_s:.2f}",
                  f"{decoding:,.0f}", f"{ratio:.2f}", "")  # fmt: skip
    verdict = "[green]met[/]" if met else "[red]MISSED[/]"
    name = "controlfeed worker" + (f" x{run.workers} (one group)" if run.workers > 1 else "")
    table.add_row(f"{name}, every rule", f"{run.events:,}", f"{run.worker_s:.2f}",
                  f"{worker:,.0f}", "", f"{verdict} >= 0.50 of decode")  # fmt: skip
    _out.print(table)
    cpu_us = run.worker_cpu_s / run.events * 1e6
    _out.print(f"worker CPU: {run.worker_cpu_s:.1f} s, {cpu_us:,.0f} µs per event (every thread)")
    _out.print(f"worker alerts against the labels: {run.alerts_ok}")
    lat = Table(
        title=f"detection latency at {run.rate:,.0f} events/s ({run.latency_events:,} events)",
        box=box.SIMPLE_HEAD,
    )
    for column in ("path", "alerts", "p50 ms", "p99 ms", "max ms", "target"):
        lat.add_column(column, justify="left" if column in ("path", "target") else "right")
    for kind in DETECTION_PATHS:
        values = run.latencies.get(kind, [])
        target = ""
        if kind == "immediate":
            ok = bool(values) and _percentile(values, 0.99) <= IMMEDIATE_P99_TARGET_S
            met = met and ok
            target = ("[green]met[/]" if ok else "[red]MISSED[/]") + " p99 <= 200 ms"
        else:
            target = "waits for the watermark (allowed lateness)"
        lat.add_row(
            kind, f"{len(values):,}", f"{_percentile(values, 0.5) * 1000:,.0f}",
            f"{_percentile(values, 0.99) * 1000:,.0f}", f"{max(values, default=0) * 1000:,.0f}",
            target,
        )  # fmt: skip
    _out.print(lat)
    return met and run.alerts_ok.startswith("exact")


@click.command()
@click.option("--events", type=click.IntRange(min=1000), default=200_000, show_default=True)
@click.option("--rate", type=click.FloatRange(min=1), default=2000.0, show_default=True,
              help="Steady replay rate of the latency run, events/s.")  # fmt: skip
@click.option("--seconds", type=click.IntRange(min=5), default=30, show_default=True,
              help="Length of the latency run.")  # fmt: skip
@click.option("--sink", is_flag=True, help="Run the worker with its sink on (default: off).")
@click.option("--workers", type=click.IntRange(min=1, max=8), default=1, show_default=True,
              help="Worker processes in one group for the throughput run.")  # fmt: skip
def main(events: int, rate: float, seconds: int, sink: bool, workers: int) -> None:
    """Worker vs plain consumer on the same topics, then latency at a steady rate."""
    settings = Settings()
    with _err.status("starting Kafka (the first start fetches it)..."):
        Stack(settings, ("kafka",)).up()
    run = Run()
    with tempfile.TemporaryDirectory(prefix="controlfeed-bench-") as tmp:
        _throughput(settings, events, Path(tmp), run, sink, workers)
        _latency(settings, rate, seconds, Path(tmp), run, sink)
    if not _report(run):
        sys.exit(1)


if __name__ == "__main__":
    main()
