"""``python -m benchmarks.peers``: controlfeed worker against its peers on the same topics.

Run by hand from the checkout (issue 12), and at small scale by
``tests/integration/test_peers.py``. In one run, with the local Kafka (started
if needed):

1. **Fill.** The throughput scenario of ``benchmarks/worker.py`` (same
   generator, seed and labels; ``--events``, default ~200,000) is replayed
   flat out into a fresh set of topics (5 feed topics x 6 partitions).
2. **Rounds.** ``--rounds`` times (default 3), every system of ``--systems``
   runs once, in an order rotated by one each round; each reads all five feed
   topics from offset 0 with a fresh consumer group (and, for those with
   output or state, a fresh output topic, state folder, changelogs), as a
   subprocess started fresh:

   - ``plain-confluent``: a confluent-kafka consumer with librdkafka's
     defaults, ``orjson.loads`` per value;
   - ``plain-confluent-16m``: the same with ``max.partition.fetch.bytes`` and
     ``fetch.max.bytes`` of 16 MiB;
   - ``plain-aiokafka``: aiokafka ``getmany`` and ``json.loads``;
   - ``quix``: a Quix Streams 3.28.1 app doing the subset of the rules in
     ``benchmarks/peer_apps/common.py`` (three per-event rules and a per-venue
     10-minute event-time count, RocksDB state with its changelog), in its own
     virtualenv (below);
   - ``faust``: a faust-streaming agent app doing the same subset (a windowed
     table, tumbling 600 s, relative to the event-time field);
   - ``controlfeed``: ``controlfeed worker`` with every rule and its sink off
     (``benchmarks.worker._worker_run``; ``--worker-arg`` is passed to its
     command line);
   - ``controlfeed-processes``: the same with ``--processes N`` (``--processes``,
     default 2: an ingest process and an engine process).

   A peer's clock runs from its first record read to its last input record
   processed and its output flushed, as the app itself reports it
   (``benchmarks/peer_apps``); the worker's as in ``benchmarks/worker.py``
   (first record in its ``/metrics`` to its ingest and engine groups committed
   at the ends of their topics). At both ends the CPU time
   (``/proc/<pid>/stat`` utime+stime, children included) of the system's
   process tree and of the Kafka broker's process (its pid file, through
   ``streams.devtools.stack``) is read.
3. **Check.** The subset's alerts are computed here from the event file
   (``expected_subset``, independently of the apps' code) and compared with
   what each rule peer wrote to its output topic (read back read_committed,
   records counted, never offsets). The plain consumers must have read every
   record and found the same records not JSON. The worker's alerts are
   compared with the scenario's labels (``_compare``).
4. **Report.** Per system: events/s (median over the rounds, and min-max),
   the median over the worker's, CPU µs per event of the system and of the
   broker, and the check; then what each peer does and does not do.

Exit 1 when a system's output is wrong, or it failed or timed out in a round.
Every topic the run made (inputs, outputs, changelogs, repartition topics,
the worker's) is deleted at the end, also after a failure or Ctrl-C.

**The Quix virtualenv.** Quix Streams 3.28.1 needs confluent-kafka<2.13,
pydantic<2.14 and pydantic-settings<2.16, which the project's pins exclude, so
the first run that includes ``quix`` makes ``<CONTROLFEED_DATA_DIR>/peers-venv``
(``.stack/peers-venv``: ``python -m venv`` and ``pip install -r
benchmarks/peers-requirements.txt``) and later runs reuse it; it is made
again when the requirements file changes. Without a network to the package
registry that step fails with a message; leave ``quix`` out of ``--systems``.

The main virtualenv needs the ``bench`` extra (orjson): ``.venv/bin/pip install
-e '.[dev]'`` includes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final

import click
from confluent_kafka import KafkaException
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]
from rich import box
from rich.console import Console
from rich.table import Table

from benchmarks.peer_apps.common import PREFIX, RULES
from benchmarks.worker import (
    _compare,
    _free_port,
    _fresh,
    _generate,
    _read_alerts,
    _replay,
    _worker_run,
)
from streams.devtools.stack import KafkaService, Stack
from streams.devtools.stack.process import tail
from streams.exceptions import ControlfeedError
from streams.kafka.clients import admin_client
from streams.kafka.read import read_topic
from streams.kafka.topics import declare_topics
from streams.progress import progress_bar
from streams.settings import PROJECT_ROOT, Settings

__all__ = ["SYSTEMS", "Expected", "expected_subset", "main"]

SYSTEMS: Final = (
    "plain-confluent",
    "plain-confluent-16m",
    "plain-aiokafka",
    "quix",
    "faust",
    "controlfeed",
    "controlfeed-processes",
)
RULE_PEERS: Final = ("quix", "faust")
REQUIREMENTS: Final = Path(__file__).with_name("peers-requirements.txt")
BASELINE: Final = "controlfeed"

WHAT: Final[dict[str, tuple[str, str]]] = {
    "plain-confluent": (
        "reads every record with librdkafka's defaults and orjson.loads it",
        "no rule, no state, no output, no offsets committed for work done",
    ),
    "plain-confluent-16m": (
        "the same, fetching up to 16 MiB per request and partition",
        "the same",
    ),
    "plain-aiokafka": (
        "reads every record with aiokafka (Faust's client), getmany, json.loads",
        "the same",
    ),
    "quix": (
        "JSON, 3 per-event rules, group_by venue_id, a 10-min event-time window "
        "(RocksDB + changelog), alerts to a topic, at-least-once",
        "no validation of the feeds, no dead letters, no pseudonyms, 4 rules of 15 "
        "(simplified), no watermark (24 h grace instead), no de-duplication, "
        "no exactly-once",
    ),
    "faust": (
        "the same subset: agents, a repartition topic, a windowed table "
        "(memory + changelog), alerts to a topic, at-least-once",
        "the same as quix",
    ),
    "controlfeed": (
        "every rule of docs/rules.md: validation, dead letters, pseudonyms, "
        "event-time order under a watermark, de-duplication, checkpoints, "
        "alerts; exactly once (Kafka transactions)",
        "the sink is off (benchmarks/sink.py measures it)",
    ),
    "controlfeed-processes": (
        "the same, `controlfeed worker --processes N` (--processes: ingest and engines "
        "in separate processes)",
        "the same",
    ),
}
"""Per system: what it does, what it does not (printed under the table)."""

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)
_TICK_S: Final = 1.0 / os.sysconf("SC_CLK_TCK")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)


# --- what the subset must raise, from the event file -----------------------------------


@dataclass
class Expected:
    """What the event file holds, for the checks."""

    records: int = 0
    """Non-blank lines: one record each."""
    not_json: int = 0
    """Lines ``json.loads`` rejects (invalid JSON or UTF-8)."""
    alerts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    """The subset's alerts per rule."""


def expected_subset(path: Path) -> Expected:
    """The subset's alerts of the event file, computed in one batch pass.

    Written apart from ``benchmarks/peer_apps/common.py`` (the streaming
    side), to the definitions in its docstring.
    """
    out = Expected()
    windows: Counter[tuple[str, int]] = Counter()
    with path.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            out.records += 1
            try:
                record = json.loads(line)
            except ValueError:
                out.not_json += 1
                continue
            if not isinstance(record, dict):
                continue
            feed = record.get("feed")
            if feed not in ("checkpoint_scan", "venue_scan"):
                continue
            temperature = record.get("temperature_c")
            if (
                isinstance(temperature, int | float)
                and not isinstance(temperature, bool)
                and temperature >= 37.3
            ):
                out.alerts["fever"] += 1
            if record.get("health_code") in ("yellow", "red"):
                out.alerts["code_not_green"] += 1
            if record.get("health_code") == "none":
                out.alerts["no_code"] += 1
            venue, at = record.get("venue_id"), record.get("event_time")
            if feed == "venue_scan" and isinstance(venue, str) and isinstance(at, str):
                try:
                    moment = datetime.fromisoformat(at)
                except ValueError:
                    continue
                if moment.tzinfo is not None:
                    windows[(venue, ((moment - _EPOCH) // _MS) // 600_000)] += 1
    out.alerts["venue_crowd"] = sum(1 for n in windows.values() if n >= 101)
    return out


# --- CPU time of process trees ---------------------------------------------------------


def _stats() -> dict[int, tuple[int, float]]:
    """Every process now: pid -> (parent pid, CPU seconds of it and its reaped children)."""
    out: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = text[text.rindex(")") + 2 :].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        out[int(entry.name)] = (int(fields[1]), ticks * _TICK_S)
    return out


def _tree_cpu(roots: Iterable[int], stats: dict[int, tuple[int, float]]) -> float:
    """CPU seconds of the processes ``roots`` and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    seen: set[int] = set()
    todo = [pid for pid in roots if pid in stats]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return sum(stats[pid][1] for pid in seen)


@dataclass(frozen=True)
class _Sample:
    """CPU seconds of a system's processes and of the broker at one moment."""

    system: float
    broker: float | None

    @classmethod
    def take(cls, pids: Iterable[int], broker: int | None) -> _Sample:
        stats = _stats()
        return cls(_tree_cpu(pids, stats), _tree_cpu([broker], stats) if broker else None)


# --- the Quix virtualenv ---------------------------------------------------------------


def quix_python(settings: Settings) -> Path:
    """The interpreter of the Quix Streams virtualenv, made (or remade) when needed."""
    venv = settings.data_dir / "peers-venv"
    python = venv / "bin" / "python"
    stamp = venv / ".requirements.sha256"
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.is_file() and stamp.is_file() and stamp.read_text().strip() == want:
        return python
    steps = [
        ([sys.executable, "-m", "venv", str(venv)], "apt-get install python3-venv, then retry"),
        (
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "-r", str(REQUIREMENTS)],
            "check that pip reaches the package registry, then retry",
        ),
    ]  # fmt: skip
    with _err.status(f"installing Quix Streams into {venv} (once, about a minute)..."):
        for argv, fix in steps:
            if argv[1:3] == ["-m", "venv"] and python.is_file():
                continue
            result = subprocess.run(argv, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise click.ClickException(
                    f"could not make the Quix Streams virtualenv {venv}: `{' '.join(argv)}` "
                    f"failed:\n{(result.stdout + result.stderr)[-2000:]}\nTo fix: {fix}; or "
                    "leave quix out (--systems)."
                )
    stamp.write_text(want + "\n")
    return python


# --- one system, one round -------------------------------------------------------------


@dataclass
class Round:
    """One system in one round."""

    seconds: float = 0.0
    records: int = 0
    system_cpu_s: float = 0.0
    broker_cpu_s: float | None = None
    check: str = ""
    """What the check found, for the table."""
    ok: bool = False

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


class _SystemFailedError(Exception):
    """A system failed in a round: the message says how."""


def _rule_counts(settings: Settings, topic: str) -> dict[str, int]:
    counts = dict.fromkeys(RULES, 0)
    for message in read_topic(settings, topic):
        rule = json.loads(message.value() or b"{}").get("rule", "?")
        counts[rule] = counts.get(rule, 0) + 1
    return counts


def _check_rules(got: dict[str, int], want: dict[str, int]) -> tuple[str, bool]:
    names = {"fever": "fever", "code_not_green": "not green", "no_code": "no code",
             "venue_crowd": "crowd"}  # fmt: skip
    if got == want:
        return "exact: " + ", ".join(f"{names[r]} {want[r]:,}" for r in RULES), True
    wrong = [f"{names.get(r, r)} {got.get(r, 0):,} of {want.get(r, 0):,}"
             for r in sorted(set(got) | set(want)) if got.get(r, 0) != want.get(r, 0)]  # fmt: skip
    return "WRONG: " + ", ".join(wrong), False


def _read_reports(stream: IO[bytes], events: queue.Queue[dict[str, Any]], log: Path) -> None:
    """The app's report lines into ``events``; anything else it prints into its log."""
    with log.open("ab") as other:
        for raw in stream:
            line = raw.decode(errors="replace")
            if line.startswith(PREFIX):
                events.put(json.loads(line[len(PREFIX) :]))
                if '"done"' in line:
                    other.write(raw)  # the app's counts, for whoever reads the log
            else:
                other.write(raw)
    events.put({"event": "eof"})


def _run_app(
    argv: list[str], records: int, log: Path, label: str, broker: int | None, timeout: float
) -> tuple[Round, dict[str, Any]]:
    """Run one peer app to its ``done`` line; its round (clock and CPU) and that line."""
    with log.open("ab") as errors:
        proc = subprocess.Popen(argv, cwd=PROJECT_ROOT, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errors)  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=_read_reports, args=(proc.stdout, events, log), daemon=True).start()
    deadline = time.monotonic() + timeout
    start: _Sample | None = None
    try:
        with progress_bar(_err) as bar:
            task = bar.add_task(label, total=records)
            while True:
                try:
                    event = events.get(timeout=0.2)
                except queue.Empty:
                    if time.monotonic() > deadline:
                        raise _SystemFailedError(
                            f"timed out after {timeout:.0f} s; see {log}"
                        ) from None
                    continue
                kind = event["event"]
                if kind == "first":
                    start = _Sample.take([proc.pid], broker)
                elif kind == "progress":
                    bar.update(task, completed=event["records"])
                elif kind == "done":
                    end = _Sample.take([proc.pid], broker)
                    bar.update(task, completed=event["records"])
                    break
                elif kind == "eof":
                    status = proc.wait(30)
                    raise _SystemFailedError(
                        f"exited with status {status} before it was done; last lines of "
                        f"{log}:\n{tail(log)}"
                    )
    finally:
        proc.stdin.close()  # the app exits once its standard input closes
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert start is not None
    measured = Round(
        seconds=event["last"] - event["first"],
        records=event["records"],
        system_cpu_s=end.system - start.system,
        broker_cpu_s=None if end.broker is None or start.broker is None
        else end.broker - start.broker,
    )  # fmt: skip
    return measured, event


@dataclass
class Run:
    """Everything one benchmark run needs and found."""

    settings: Settings
    """Settings with the run's own input topics (``benchmarks.worker._fresh``)."""
    tag: str
    """Prefix of every topic and group of the run."""
    expected: Expected
    labels: dict[str, Any]
    workdir: Path
    """Temporary: the event file, state folders."""
    logs: Path
    """Each system's log per round: kept after a failure, removed after a clean run."""
    broker: int | None
    quix: Path | None
    worker_args: tuple[str, ...]
    processes: int = 2
    """``--processes`` of the ``controlfeed-processes`` system."""
    results: dict[str, list[Round]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


def _peer(run: Run, system: str, r: int, label: str) -> Round:
    """One round of a peer app, checked."""
    settings, expected = run.settings, run.expected
    group = f"{run.tag}-{system}-r{r}"
    alerts = f"{run.tag}.out.{system}.r{r}"
    module = {"plain-confluent-16m": "plain_confluent", "plain-aiokafka": "plain_aiokafka",
              "quix": "quix_app", "faust": "faust_app"}.get(system, "plain_confluent")  # fmt: skip
    python = str(run.quix) if system == "quix" else sys.executable
    argv = [
        python, "-m", f"benchmarks.peer_apps.{module}",
        "--bootstrap", settings.kafka_bootstrap_servers,
        "--topics", ",".join(settings.feed_topics().values()),
        "--records", str(expected.records), "--group", group,
        "--partitions", str(settings.topic_partitions),
    ]  # fmt: skip
    if system == "plain-confluent-16m":
        argv.append("--fetch-16m")
    if system in RULE_PEERS:
        state = run.workdir / group
        state.mkdir()
        admin = admin_client(settings)
        new = NewTopic(alerts, settings.topic_partitions, settings.topic_replication_factor)
        admin.create_topics([new])[alerts].result(timeout=30)
        argv += ["--alerts-topic", alerts, "--venue-topic", settings.topic_venue_scans,
                 "--state-dir", str(state)]  # fmt: skip
    timeout = 120 + expected.records / 500
    measured, done = _run_app(argv, expected.records, run.logs / f"{group}.log", label,
                              run.broker, timeout)  # fmt: skip
    run.versions[system] = str(done.get("version", ""))
    if system in RULE_PEERS:
        measured.check, measured.ok = _check_rules(_rule_counts(settings, alerts), expected.alerts)
    else:
        malformed = int(done.get("malformed", -1))
        measured.ok = measured.records == expected.records and malformed == expected.not_json
        measured.check = f"read {measured.records:,} of {expected.records:,}, {malformed} not JSON"
        if malformed != expected.not_json:
            measured.check += f" (WRONG: the file has {expected.not_json})"
    if measured.records != expected.records:
        measured.ok = False
        measured.check += f" (read {measured.records:,} of {expected.records:,})"
    return measured


def _controlfeed(run: Run, r: int, label: str, processes: int | None = None) -> Round:
    """One round of ``controlfeed worker`` (with ``--processes`` if given), its alerts
    checked against the labels."""
    tag = f"{run.tag}.cf{r}" if processes is None else f"{run.tag}.cfp{r}"
    args = run.worker_args if processes is None else (*run.worker_args,
                                                      f"--processes={processes}")  # fmt: skip
    own = run.settings.model_copy(
        update={
            "worker_group": f"{tag}-worker",
            "topic_engine": f"{tag}.engine",
            "topic_state": f"{tag}.state",
            "topic_alerts": f"{tag}.alerts",
            "topic_dead_letter": f"{tag}.dead-letter",
            "metrics_port": _free_port(),
        }
    )
    declare_topics(own)
    samples: dict[str, _Sample] = {}

    def mark(moment: str, pids: list[int]) -> None:
        samples[moment] = _Sample.take(pids, run.broker)

    try:
        seconds, _ = _worker_run(own, run.expected.records, run.logs / f"{tag}.log",
                                 args=args, label=label, mark=mark)  # fmt: skip
    except click.ClickException as e:
        raise _SystemFailedError(e.message) from None
    start, end = samples["start"], samples["done"]
    check = _compare([a for a, _, _ in _read_alerts(own)], run.labels)
    return Round(
        seconds=seconds,
        records=run.expected.records,
        system_cpu_s=end.system - start.system,
        broker_cpu_s=None if end.broker is None or start.broker is None
        else end.broker - start.broker,
        check=f"labels: {check}",
        ok=check.startswith("exact"),
    )  # fmt: skip


def _rounds(run: Run, systems: Sequence[str], rounds: int) -> None:
    for r in range(rounds):
        order = [*systems[r % len(systems) :], *systems[: r % len(systems)]]
        for system in order:
            label = f"round {r + 1}/{rounds} {system}"
            try:
                if system == BASELINE:
                    result = _controlfeed(run, r, label)
                elif system == "controlfeed-processes":
                    result = _controlfeed(run, r, label, run.processes)
                else:
                    result = _peer(run, system, r, label)
            except _SystemFailedError as e:
                _err.print(f"[red]{system} failed in round {r + 1}:[/] {e}")
                result = Round(check=f"FAILED: {str(e).splitlines()[0]}")
            run.results.setdefault(system, []).append(result)


def _delete_run_topics(settings: Settings, tag: str) -> None:
    """Delete every topic whose name holds the run's tag (inputs, outputs, changelogs, ...)."""
    admin = admin_client(settings)
    names = [t for t in admin.list_topics(timeout=30).topics if tag in t]
    if names:
        for future in admin.delete_topics(names, operation_timeout=60).values():
            future.exception()  # one already gone is fine


# --- the report ------------------------------------------------------------------------


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _report(run: Run, systems: Sequence[str], rounds: int, started: datetime) -> bool:
    """Print the table and the notes; whether every system's output was right."""
    rates = {s: [r.rate for r in run.results[s] if r.seconds] for s in systems}
    base = _median(rates.get(BASELINE, []))
    title = (
        f"peers on the same topics: {run.expected.records:,} records, {rounds} round(s), "
        f"{started:%Y-%m-%d %H:%M} UTC"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in ("system", "events/s (median)", "min - max", f"÷ {BASELINE}",
                   "CPU µs/event", "broker µs/event", "output checked"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("system", "output checked")
                         else "right")  # fmt: skip
    every_ok = True
    for system in systems:
        done = run.results[system]
        measured = [r for r in done if r.seconds]
        ok = all(r.ok for r in done)
        every_ok = every_ok and ok
        median = _median(rates[system])
        cpu = [r.system_cpu_s / r.records * 1e6 for r in measured]
        broker = [r.broker_cpu_s / r.records * 1e6 for r in measured if r.broker_cpu_s is not None]
        checks = sorted({r.check for r in done})
        verdict = "[green]ok[/] " if ok else "[red]NO[/] "
        args = " ".join(run.worker_args) if system.startswith(BASELINE) else ""
        if system == "controlfeed-processes":
            args = f"{args} --processes={run.processes}".strip()
        table.add_row(
            f"{system} {args}".strip(),
            f"{median:,.0f}" if measured else "-",
            f"{min(rates[system]):,.0f} - {max(rates[system]):,.0f}" if measured else "-",
            f"{median / base:.2f}" if base and measured else "-",
            f"{_median(cpu):,.1f}" if cpu else "-",
            f"{_median(broker):,.1f}" if broker else "n/a",
            verdict + "; ".join(checks),
        )
    _out.print(table)
    expected = run.expected
    _out.print(
        "expected of the subset (computed from the event file): "
        + ", ".join(f"{rule} {n:,}" for rule, n in expected.alerts.items())
        + f"; {expected.not_json} records not JSON"
    )
    if run.broker is None:
        _out.print("broker CPU: n/a (the broker on the port was not started by this stack)")
    if any(run.versions.values()):
        _out.print("versions: " + "; ".join(f"{s} {v}" for s, v in run.versions.items() if v))
    _out.print("\nwhat each system does, and does not:")
    for system in systems:
        does, does_not = WHAT[system]
        _out.print(f"  [bold]{system}[/]: {does}. Not: {does_not}.")
    _out.print(
        "  Clocks: a peer's from its first record read to its last input record processed and "
        "its output flushed (its own report); controlfeed's from its first record in /metrics "
        "to its groups committed at the topics' ends (polled every 0.25 s); a client's fetching "
        "before its first record reaches the code is off every clock. CPU: utime+stime of the "
        "process tree, read at both ends; the broker also serves anything else on it."
    )
    return every_ok


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _systems(value: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in names if s not in SYSTEMS]
    if unknown or not names:
        raise click.BadParameter(
            f"{', '.join(unknown) or 'none'}; choose from {', '.join(SYSTEMS)}"
        )
    return names


@click.command()
@click.option("--events", type=click.IntRange(min=1000), default=200_000, show_default=True,
              help="Events of the generated scenario (about).")  # fmt: skip
@click.option("--rounds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Rounds; each runs every system once, in a rotated order.")  # fmt: skip
@click.option("--systems", default=",".join(SYSTEMS), show_default=True,
              help="Comma-separated systems to run.")  # fmt: skip
@click.option("--worker-arg", "worker_args", multiple=True,
              help="An argument for `controlfeed worker` (repeatable), "
                   "e.g. --worker-arg=--processes=2.")  # fmt: skip
@click.option("--processes", type=click.IntRange(2, 64), default=2, show_default=True,
              help="--processes of the controlfeed-processes system.")  # fmt: skip
def main(
    events: int, rounds: int, systems: str, worker_args: tuple[str, ...], processes: int
) -> None:
    """controlfeed worker against plain consumers, Quix Streams and Faust on the same topics."""
    chosen = _systems(systems)
    signal.signal(signal.SIGTERM, _interrupt)  # like Ctrl-C: stop the apps, delete the topics
    started = datetime.now(UTC)
    settings = Settings()
    try:
        with _err.status("starting Kafka (the first start fetches it)..."):
            Stack(settings, ("kafka",)).up()
    except ControlfeedError as e:
        raise click.ClickException(f"{e}\n{e.hint}") from None
    broker = KafkaService(settings).daemon.pid()
    quix = quix_python(settings) if "quix" in chosen else None
    own = _fresh(settings, _free_port()).model_copy(update={"topic_partitions": 6})
    tag = own.topic_alerts.removesuffix(".alerts")
    try:
        with tempfile.TemporaryDirectory(prefix="controlfeed-peers-") as tmp:
            workdir = Path(tmp)
            path = workdir / "throughput.jsonl"
            labels = _generate(path, events, 3600, seed=11)  # benchmarks/worker.py's scenario
            with _err.status("computing the subset's alerts from the file..."):
                expected = expected_subset(path)
            declare_topics(own)
            with _err.status("replaying the scenario into fresh topics..."):
                sent = _replay(own, path)
            if sent != expected.records:
                raise click.ClickException(f"replay sent {sent:,} records of {expected.records:,}")
            logs = settings.data_dir / "peers" / tag
            logs.mkdir(parents=True)
            run = Run(own, tag, expected, labels, workdir, logs, broker, quix, worker_args,
                      processes)  # fmt: skip
            _rounds(run, chosen, rounds)
            ok = _report(run, chosen, rounds, started)
            if ok:
                shutil.rmtree(logs, ignore_errors=True)
            else:
                _out.print(f"logs of every system and round: {logs}")
    except KafkaException as e:
        raise click.ClickException(
            f"Kafka failed: {e}. Is it up? `.venv/bin/controlfeed stack status` shows it."
        ) from None
    finally:
        with _err.status("deleting the run's topics..."):
            _delete_run_topics(settings, tag)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
