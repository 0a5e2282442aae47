"""``python -m benchmarks.recovery``: how long a killed worker takes to catch up, early and late.

One run on the local stack (started if needed), topics and groups of its own:
a generated scenario is replayed at a steady rate (``--rate``, events/s)
through one ``controlfeed worker`` (sink off: the engines are what recovers).
When the worker has read 100,000 input records it is killed (SIGKILL) and
started again at once; the same after 1,000,000 (``--kills``). Each recovery
is timed from the kill to the moment the worker is caught up again: the
ingest and engine groups' committed offsets within half a second of input
(``--rate / 2`` records) of their topics' ends, twice in a row. The worker's
own log says what the time went on: joining the groups (its predecessor's
session must time out, 10 s), reading and restoring each engine partition's
checkpoint, replaying the records after it.

The scenario spreads its events over enough event time (``--event-rate``,
default 20 events per second of event time) that the first kill already comes
after the engine's horizons (1 h of remembered ids, 10 min of buffered events):
from then on the state, and so the checkpoint and the restore, stay the same
size however long the worker has run. That is the claim tested: the second
recovery takes at most 1.5 times the first (flat, not linear in history).

``--baseline`` runs the same with checkpoints off (the engines rebuilt from the
start of the engine topic, as the worker did before checkpoints), to show what
they save. Exit 1 when the ratio target is missed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import click
from rich.console import Console
from rich.table import Table

from streams.devtools.replay import KafkaSink, ReplayOptions, Router
from streams.devtools.replay.runner import run_replay
from streams.devtools.scenario import ScenarioOptions, generate_to
from streams.devtools.stack import Stack
from streams.devtools.stack.process import terminate
from streams.kafka.clients import admin_client
from streams.kafka.read import group_lag
from streams.kafka.topics import declare_topics, pipeline_topics
from streams.progress import progress_bar
from streams.settings import Settings

__all__ = ["main"]

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]
RATIO_TARGET: Final = 1.5
"""The later recovery over the earlier one."""
_RESTORED = re.compile(
    r"restored from checkpoint at engine offset \d+ \(([\d,]+) bytes\) in ([\d.]+) s"
)

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


@dataclass
class Recovery:
    """One kill and what followed."""

    at: int
    """Input records the worker had read when killed."""
    seconds: float = 0.0
    """Kill to caught up."""
    ready_s: float = 0.0
    """Kill to the restarted worker's ``Ready`` (its stages have their partitions)."""
    checkpoint_bytes: int = 0
    """Bytes of the checkpoints restored (every engine partition)."""
    restore_s: float = 0.0
    """Seconds spent reading and restoring them."""
    replayed: int = 0
    """Engine records processed again after the checkpoints."""
    state: dict[str, float] = field(default_factory=dict)
    """The engines' state sizes just before the kill."""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _metrics(port: int) -> dict[str, float]:
    """Sums of the worker's ``/metrics`` samples by name (empty when it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as page:
            text = page.read().decode()
    except OSError:
        return {}
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            key = name.split("{")[0]
            sums[key] = sums.get(key, 0.0) + float(value)
    return sums


class _Worker:
    """The worker process under test, restarted on the same log."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.env = {**os.environ, **settings.to_env(), "CONTROLFEED_PSEUDONYM_KEY": "bench-key"}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*CLI, "worker"], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)  # fmt: skip

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def readies(self) -> int:
        return self.log.read_bytes().count(b"Ready:") if self.log.exists() else 0

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc)


def _lags(settings: Settings) -> tuple[int, int]:
    """(input records not yet ingested, engine records not yet processed), committed."""
    ingest = group_lag(settings, settings.worker_group, list(settings.feed_topics().values()))
    engine = group_lag(settings, f"{settings.worker_group}-engine", [settings.topic_engine])
    return sum(ingest.values()), sum(engine.values())


def _recover(settings: Settings, worker: _Worker, at: int, threshold: int) -> Recovery:
    """Kill the worker, start it again, time it until it is caught up."""
    result = Recovery(at, state=_metrics(settings.metrics_port))
    log_from = worker.log.stat().st_size
    readies = worker.readies()
    killed = time.monotonic()
    worker.kill()
    worker.start()
    good = 0
    while good < 2:
        if not worker.alive():
            raise click.ClickException(f"the worker died; see {worker.log}")
        if not result.ready_s and worker.readies() > readies:
            result.ready_s = time.monotonic() - killed
        ingest, engine = _lags(settings)
        good = good + 1 if result.ready_s and ingest <= threshold and engine <= threshold else 0
        time.sleep(0.2)
    result.seconds = time.monotonic() - killed
    text = worker.log.read_bytes()[log_from:].decode(errors="replace")
    for size, seconds in _RESTORED.findall(text):
        result.checkpoint_bytes += int(size.replace(",", ""))
        result.restore_s += float(seconds)
    result.replayed = int(_metrics(settings.metrics_port).get(
        "controlfeed_engine_replayed_records_total", 0))  # fmt: skip
    return result


def _run(
    settings: Settings, path: Path, lines: int, rate: float, kills: list[int], folder: Path,
    label: str,
) -> list[Recovery]:  # fmt: skip
    """Replay ``path`` at ``rate``; kill and time the worker at each count of ``kills``."""
    declare_topics(settings)
    worker = _Worker(settings, folder / f"worker-{label}.log")
    worker.start()
    deadline = time.monotonic() + 120
    while worker.readies() < 1:
        if not worker.alive() or time.monotonic() > deadline:
            raise click.ClickException(f"the worker did not start; see {worker.log}")
        time.sleep(0.2)
    sink = KafkaSink(settings, delivery_timeout=300.0)
    failed: list[str] = []

    def replay() -> None:
        report = run_replay([path], Router(settings.feed_topics()), sink, ReplayOptions(rate=rate))
        if not report.ok:
            failed.append("the replay did not deliver every record")

    thread = threading.Thread(target=replay, daemon=True)
    thread.start()
    recoveries: list[Recovery] = []
    try:
        with progress_bar(_err, unit="ev", extra="{task.fields[note]}") as bar:
            task = bar.add_task(label, total=lines, note="")
            before = 0.0  # read by the workers killed so far (a restart counts from 0)
            for at in kills:
                while True:
                    m = _metrics(settings.metrics_port)
                    read = (
                        before
                        + m.get("controlfeed_events_total", 0)
                        + m.get("controlfeed_dead_letters_total", 0)
                    )
                    bar.update(task, completed=min(read, lines))
                    if read >= at:
                        break
                    if not worker.alive() or failed:
                        raise click.ClickException(f"the run broke; see {worker.log}")
                    time.sleep(0.1)
                bar.update(task, note=f"killed at {at:,}: recovering")
                before = read  # the new worker reads again only what was not committed
                recoveries.append(_recover(settings, worker, at, threshold=int(rate / 2)))
                bar.update(task, note=f"recovered in {recoveries[-1].seconds:.1f} s")
        thread.join()
    finally:
        worker.stop()
    return recoveries


def _fresh(base: Settings, tag: str, checkpoints: bool) -> Settings:
    names = base.topic_fields()
    update: dict[str, Any] = {f: f"bench.{tag}.{getattr(base, f)}" for f in names}
    update |= {"worker_group": f"bench-{tag}", "metrics_port": _free_port(), "sink_enabled": False}
    if not checkpoints:  # never: the engines rebuild from the start, as before checkpoints
        update |= {"checkpoint_interval_s": 1e9, "engine_retention_hours": 1e6}
    return base.model_copy(update=update)


def _delete(settings: Settings) -> None:
    names = [t.name for t in pipeline_topics(settings)] + [settings.topic_engine,
                                                           settings.topic_state]  # fmt: skip
    admin = admin_client(settings, log_level=2)
    for future in admin.delete_topics(names, operation_timeout=30).values():
        future.exception()


@click.command()
@click.option("--kills", default="100000,1000000", show_default=True,
              help="Input records read at each kill, comma-separated.")  # fmt: skip
@click.option("--rate", default=2000.0, show_default=True, type=click.FloatRange(10),
              help="Steady replay rate, events/s.")  # fmt: skip
@click.option("--event-rate", default=20.0, show_default=True, type=click.FloatRange(0.1),
              help="Events per second of event time in the scenario.")  # fmt: skip
@click.option("--baseline", is_flag=True, help="Also run with checkpoints off.")
def main(kills: str, rate: float, event_rate: float, baseline: bool) -> None:
    """Kill the worker early and late in a long feed; time each recovery."""
    points = sorted(int(k) for k in kills.split(",") if k.strip())
    base = Settings()
    with _err.status("starting the local stack..."):
        Stack(base).up()
    folder = Path(tempfile.mkdtemp(prefix="controlfeed-recovery-"))
    events = int(points[-1] * 1.03)
    path = folder / "recovery.jsonl"
    with _err.status(f"generating ~{events:,} events..."):
        options = ScenarioOptions(
            seed=31, duration_s=int(events / event_rate), rate=event_rate, population=50_000
        )
        generate_to(path, options)
    labels = json.loads(path.with_name("recovery.labels.json").read_text())
    lines = sum(labels["events"].values()) + len(labels["malformed"])
    runs: dict[str, list[Recovery]] = {}
    for label, checkpoints in [
        ("checkpoints", True),
        *([("no checkpoints", False)] if baseline else []),
    ]:
        own = _fresh(base, uuid.uuid4().hex[:8], checkpoints)
        try:
            runs[label] = _run(own, path, lines, rate, points, folder, label)
        finally:
            _delete(own)
    ok = _report(runs, base.checkpoint_interval_s, rate, event_rate, folder)
    sys.exit(0 if ok else 1)


def _report(
    runs: dict[str, list[Recovery]], interval: float, rate: float, event_rate: float, folder: Path
) -> bool:
    table = Table(title=f"recovery after SIGKILL (feed at {rate:,.0f} ev/s, {event_rate:g} ev "
                  f"per event-time second, checkpoint interval {interval:.0f} s)",
                  title_justify="left")  # fmt: skip
    for column in ("run", "killed at", "recovered in", "groups joined", "checkpoints",
                   "restore", "replayed", "seen ids", "buffered"):  # fmt: skip
        table.add_column(column, justify="right")
    for label, recoveries in runs.items():
        for r in recoveries:
            table.add_row(
                label, f"{r.at:,}", f"{r.seconds:.1f} s", f"{r.ready_s:.1f} s",
                f"{r.checkpoint_bytes / 1e6:.1f} MB", f"{r.restore_s:.1f} s", f"{r.replayed:,}",
                f"{r.state.get('controlfeed_engine_seen_ids', 0):,.0f}",
                f"{r.state.get('controlfeed_engine_buffered_events', 0):,.0f}",
            )  # fmt: skip
    _out.print(table)
    recoveries = runs["checkpoints"]
    ratio = recoveries[-1].seconds / recoveries[0].seconds
    met = ratio <= RATIO_TARGET
    verdict = "met" if met else "MISSED"
    _out.print(f"last over first recovery: {ratio:.2f} (target <= {RATIO_TARGET}: {verdict}); "
               f"logs in {folder}")  # fmt: skip
    return met


if __name__ == "__main__":
    main()
