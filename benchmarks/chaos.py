"""``python -m benchmarks.chaos`` (``make chaos``): faults injected while a scenario flows.

A generated scenario (every rule on, bad lines among the good) is replayed at
a steady rate through ``controlfeed worker`` on a Kafka broker and a ClickHouse
server of the run's own (free ports, a temporary folder: the user's stack is
never touched), while faults are injected at 10 %, 50 % and 90 % of the feed:

- ``kill``: SIGKILL the worker, start it again at once;
- ``stop``: SIGSTOP the worker for 20 s (it loses its partitions), then SIGCONT;
- ``broker``: stop the broker, start it again 15 s later;
- ``clickhouse``: stop ClickHouse for 30 s;
- ``rebalance``: a second worker joins the group and, 10 s after it is ready,
  leaves it (two rebalances).

Each run gets topics, groups and a database of its own; one fault per run, or
with ``--combined`` one run with every fault once in turn (the subset the test
suite runs). When the input is in and the pipeline has settled, the oracle:

1. the alerts (read with read_committed) are exactly the labels, one id each;
2. no alert record is repeated;
3. every valid event is stored once: the counts through ``FINAL`` and, after
   ``OPTIMIZE ... FINAL``, the plain counts equal the valid events per feed
   (and the alerts and dead letters);
4. every bad line is on the dead-letter topic, once;
5. no worker needed a hand: none failed, each stopped cleanly (status 0).

``--processes N`` runs every worker with ``controlfeed worker --processes N``;
each worker is then a process group (its parent and children) that the
``kill`` and ``stop`` faults signal as one, as a container runtime would.

``--negative-control`` runs the ``kill`` fault with the worker's alerts taken
out of its transaction (``--unsafe-commit-first``): the oracle must then find
alerts lost, which shows it can. The command exits 0 when every run passed and
the negative control (if asked) failed as it must; 1 otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import click
from clickhouse_driver import Client
from rich.console import Console
from rich.table import Table

from streams.devtools.scenario import ScenarioOptions, generate_to, labels_path_for
from streams.devtools.stack import ClickHouseService, KafkaService
from streams.devtools.stack.process import terminate
from streams.kafka.read import group_lag, read_topic
from streams.kafka.stage import headers
from streams.progress import progress_bar
from streams.settings import Settings
from streams.sink.backlog import sink_backlog
from streams.wire import ERROR_REASON_HEADER

__all__ = [
    "FAULTS",
    "POSITIONS",
    "Cluster",
    "Scenario",
    "Verdict",
    "main",
    "make_scenario",
    "private_cluster",
    "run_faults",
]

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]
FAULTS: Final = ("kill", "stop", "broker", "clickhouse", "rebalance")
"""Every fault the command injects, in the order ``--combined`` runs them."""
POSITIONS: Final = (10, 50, 90)
"""Where in the feed (per cent of its records) each fault is injected."""
COMBINED_AT: Final = {"kill": 10, "stop": 25, "broker": 45, "clickhouse": 65, "rebalance": 85}
"""``--combined``: each fault once, at these positions (a fault starts once the last ended)."""
TABLES: Final = {
    "checkpoint_scans": ("checkpoint_scan", "event_id"),
    "venue_scans": ("venue_scan", "event_id"),
    "patrol_events": ("patrol_event", "event_id"),
    "risk_areas": ("risk_area", "(area_code, event_time, event_ms)"),
    "venues": ("venue", "(venue_id, event_time, event_ms)"),
    "alerts": ("", "alert_id"),
    "dead_letters": ("", "(topic, partition, offset)"),
}
"""Each table, the feed whose valid events it holds, and what identifies a row."""
_KEY = "chaos-run-pseudonym-key-not-a-secret"

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


# ---------------------------------------------------------------- the services


@dataclass
class Cluster:
    """A broker and a ClickHouse server of the chaos run's own."""

    kafka: KafkaService
    clickhouse: ClickHouseService
    settings: Settings
    """Settings pointing at them (bootstrap servers, ports)."""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def private_cluster(base: Settings, folder: Path) -> Iterator[Cluster]:
    """Start a private Kafka and ClickHouse under ``folder``; stop both at the end."""
    kafka_port = _free_port()
    own = base.model_copy(
        update={
            "data_dir": folder / "stack",
            "kafka_port": kafka_port,
            "kafka_controller_port": _free_port(),
            "kafka_bootstrap_servers": f"127.0.0.1:{kafka_port}",
            "kafka_heap": "512m",
            "clickhouse_tcp_port": _free_port(),
            "clickhouse_http_port": _free_port(),
        }
    )
    kafka, clickhouse = KafkaService(own), ClickHouseService(own)
    try:
        kafka.start()
        clickhouse.start()
        kafka.wait_ready()
        clickhouse.wait_ready()
        yield Cluster(kafka, clickhouse, own)
    finally:
        kafka.stop()
        clickhouse.stop()


# ---------------------------------------------------------------- the scenario


@dataclass
class Scenario:
    """A generated file and what the pipeline must make of it."""

    path: Path
    labels: dict[str, Any]
    malformed: Counter[bytes]
    """Every bad line, as the dead-letter topic must carry it."""

    @property
    def lines(self) -> int:
        return int(sum(self.labels["events"].values())) + len(self.labels["malformed"])

    def rows(self) -> dict[str, int]:
        """Rows each table must hold."""
        events = self.labels["events"]
        rows = {table: events[feed] for table, (feed, _) in TABLES.items() if feed}
        rows["alerts"] = len(self.labels["alerts"])
        rows["dead_letters"] = len(self.labels["malformed"])
        return rows


def make_scenario(folder: Path, events: int, seed: int) -> Scenario:
    """About ``events`` lines over six hours of event time, ten times the usual anomalies."""
    path = folder / f"chaos-{seed}.jsonl"
    options = ScenarioOptions(
        seed=seed,
        duration_s=6 * 3600,
        rate=events / (6 * 3600),
        population=max(events // 5, 1000),
        anomaly_rate=0.01,
        malformed_rate=0.005,
    )
    generate_to(path, options)
    labels = json.loads(labels_path_for(path).read_text(encoding="utf-8"))
    lines = path.read_bytes().splitlines()
    malformed = Counter(lines[m["line"] - 1] for m in labels["malformed"])
    return Scenario(path, labels, malformed)


# ---------------------------------------------------------------- workers


@dataclass
class Workers:
    """The worker processes of one run, their logs and how each ended."""

    settings: Settings
    folder: Path
    unsafe: bool = False
    processes: int = 1
    """``controlfeed worker --processes``: each worker is a parent and its children, in a
    process group of their own that the faults signal as one."""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    """Exit status of each process that ended, by worker name (kills are -9)."""
    ports: dict[str, int] = field(default_factory=dict)
    """The metrics port of each worker (kept across its restarts)."""

    def env(self, name: str) -> dict[str, str]:
        port = self.ports.setdefault(name, _free_port())
        own = self.settings.model_copy(
            update={"metrics_port": port, "data_dir": self.folder / name}
        )
        return {**os.environ, **own.to_env(), "CONTROLFEED_PSEUDONYM_KEY": _KEY}

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def start(self, name: str) -> None:
        args = [*CLI, "worker", *(["--unsafe-commit-first"] if self.unsafe else [])]
        args += ["--processes", str(self.processes)]
        with self.log(name).open("ab") as out:
            self.procs[name] = subprocess.Popen(
                args, env=self.env(name), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def signal(self, name: str, signum: int) -> None:
        """``signum`` to worker ``name`` and its processes (its process group)."""
        os.killpg(self.procs[name].pid, signum)

    def wait_ready(self, name: str, times: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log(name).read_bytes().count(b"Ready:") >= times:
                return
            if self.procs[name].poll() is not None:
                break
            time.sleep(0.2)
        for proc in self.procs.values():
            self.dump(proc)
        raise RuntimeError(f"worker {name} not ready:\n{self.tail(name)}")

    def ended(self, name: str, status: int) -> None:
        self.statuses.setdefault(name, []).append(status)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        self.signal(name, signal.SIGKILL)
        self.ended(name, proc.wait(30))

    def stop(self, name: str) -> None:
        """SIGTERM and wait: the worker commits and leaves its groups."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            self.ended(name, proc.wait(90))
        except subprocess.TimeoutExpired:
            self.dump(proc)
            terminate(proc)
            self.ended(name, -999)

    def dump(self, proc: subprocess.Popen[bytes]) -> None:
        """Have a worker write its threads' stacks into its log (SIGUSR1)."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGUSR1)
            time.sleep(1)

    def tail(self, name: str, lines: int = 30) -> str:
        text = self.log(name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def failures(self) -> list[str]:
        """What the logs say went wrong by itself (a stage that failed)."""
        found = []
        for log in self.folder.glob("*.log"):
            if b"stage failed" in log.read_bytes():
                found.append(f"{log.stem}: a stage failed (see {log})")
        return found


# ---------------------------------------------------------------- faults


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
        text = page.read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def _after_an_alert(workers: Workers, timeout: float = 60.0) -> None:
    """Wait until worker ``a`` has just queued an alert, then half a second more: its offsets
    are committed by then, and the unsafe producer still holds the alert (2 s)."""
    port, deadline = workers.ports["a"], time.monotonic() + timeout
    before = _metric(port, "controlfeed_alerts_total")
    while time.monotonic() < deadline and _metric(port, "controlfeed_alerts_total") == before:
        time.sleep(0.05)
    time.sleep(0.5)


def _inject(fault: str, cluster: Cluster, workers: Workers, unsafe: bool) -> None:
    """Inject one fault and wait until it is over (the process restarted, the service up)."""
    if fault == "kill":
        if unsafe:  # the negative control: kill while a committed alert is still held back
            _after_an_alert(workers)
        workers.kill("a")
        workers.start("a")
    elif fault == "stop":
        workers.signal("a", signal.SIGSTOP)
        time.sleep(20)
        workers.signal("a", signal.SIGCONT)
    elif fault == "broker":
        cluster.kafka.stop()
        time.sleep(15)
        cluster.kafka.start()
        cluster.kafka.wait_ready()
    elif fault == "clickhouse":
        cluster.clickhouse.stop()
        time.sleep(30)
        cluster.clickhouse.start()
        cluster.clickhouse.wait_ready()
    elif fault == "rebalance":
        workers.start("b")
        workers.wait_ready("b", times=1)
        time.sleep(10)
        workers.stop("b")
    else:
        raise ValueError(f"no such fault: {fault}")


# ---------------------------------------------------------------- one run


@dataclass
class Verdict:
    """What one run found."""

    faults: list[tuple[str, int]]
    """(fault, position in per cent)."""
    problems: list[str]
    """What the oracle found wrong; empty when the run passed."""
    alerts: int = 0
    """Alert records read back (read_committed)."""
    seconds: float = 0.0
    """How long the run took."""
    folder: Path | None = None
    """Where its logs are."""

    @property
    def passed(self) -> bool:
        return not self.problems


def _run_settings(cluster: Cluster, run: str, database: str) -> Settings:
    update: dict[str, Any] = {
        field: f"chaos.{run}.{getattr(cluster.settings, field)}"
        for field in cluster.settings.topic_fields()
    }
    base = cluster.settings.stack_clickhouse_url.rsplit("/", 1)[0]
    update |= {
        "worker_group": f"chaos-{run}",
        "topic_partitions": 3,
        "engine_partitions": 3,
        "checkpoint_interval_s": 10.0,
        "clickhouse_url": f"{base}/{database}",
        "sink_enabled": True,
        "retention_days": 36500,  # the scenario dates from 2022
        "sink_retry_max_seconds": 4.0,
    }
    return cluster.settings.model_copy(update=update)


def run_faults(
    cluster: Cluster,
    scenario: Scenario,
    faults: list[tuple[str, int]],
    folder: Path,
    *,
    rate: float,
    unsafe: bool = False,
    processes: int = 1,
    phase: Callable[[str], None] = lambda _: None,
) -> Verdict:
    """One run: the scenario at ``rate`` events/s, ``faults`` injected in turn; the oracle.

    ``processes``: each worker runs with ``--processes`` (the faults hit all its processes).
    """
    started = time.monotonic()
    run = uuid.uuid4().hex[:8]
    database = f"chaos_{run}"
    folder.mkdir(parents=True, exist_ok=True)
    admin = Client("127.0.0.1", port=cluster.settings.clickhouse_tcp_port)
    admin.execute(f"CREATE DATABASE {database}")
    settings = _run_settings(cluster, run, database)
    workers = Workers(settings, folder, unsafe=unsafe, processes=processes)
    replay: subprocess.Popen[bytes] | None = None
    problems: list[str] = []
    try:
        phase("worker starting")
        workers.start("a")
        workers.wait_ready("a", times=1)
        args = [*CLI, "replay", "--no-progress", "--rate", str(rate), "--delivery-timeout",
                "300", str(scenario.path)]  # fmt: skip
        with (folder / "replay.log").open("wb") as out:
            replay = subprocess.Popen(args, env=workers.env("replay"), stdout=out,
                                      stderr=subprocess.STDOUT)  # fmt: skip
        feed_s, begun = scenario.lines / rate, time.monotonic()
        for fault, position in sorted(faults, key=lambda f: f[1]):
            wait = max(0.0, begun + feed_s * position / 100 - time.monotonic())
            phase(f"feed at {position} %: waiting {wait:.0f} s, then {fault}")
            time.sleep(wait)
            phase(f"{fault} at {position} %")
            _inject(fault, cluster, workers, unsafe)
        phase("feed ending")
        if replay.wait(feed_s + 600) != 0:
            problems.append(f"replay failed:\n{(folder / 'replay.log').read_text()[-2000:]}")
        phase("settling")
        _settle(settings, workers, timeout=240)
        workers.stop("a")
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        problems.append(f"the run broke: {err}")
    finally:
        for name in list(workers.procs):
            workers.stop(name)
        if replay is not None:
            terminate(replay)
    phase("checking")
    problems += _oracle(settings, scenario, workers, admin, database)
    alerts = len(read_topic(settings, settings.topic_alerts))
    admin.execute(f"DROP DATABASE IF EXISTS {database}")
    admin.disconnect()
    return Verdict(faults, problems, alerts, time.monotonic() - started, folder)


def _alert_keys(settings: Settings) -> tuple[set[tuple[str, str, tuple[str, ...]]], list[str]]:
    ids, keys = [], set()
    for msg in read_topic(settings, settings.topic_alerts):
        alert = json.loads(msg.value() or b"{}")
        ids.append(alert["alert_id"])
        keys.add((alert["rule"], alert["severity"], tuple(sorted(alert["evidence"]))))
    return keys, ids


def _labelled(scenario: Scenario) -> set[tuple[str, str, tuple[str, ...]]]:
    return {
        (a["rule"], a["severity"], tuple(sorted(a["evidence"]))) for a in scenario.labels["alerts"]
    }


def _settle(settings: Settings, workers: Workers, timeout: float, quiet_s: float = 10.0) -> None:
    """Until the pipeline is done (bounded): for ``quiet_s`` every stage's group committed at
    the end of its topics (ingest, engine, sink) and no new alert."""
    deadline, since, last = time.monotonic() + timeout, time.monotonic(), -1
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in workers.procs.values()):
            raise RuntimeError(f"a worker died:\n{workers.tail('a')}")
        inputs = list(settings.feed_topics().values())
        lags = [
            *group_lag(settings, settings.worker_group, inputs).values(),
            *group_lag(
                settings, f"{settings.worker_group}-engine", [settings.topic_engine]
            ).values(),
            sink_backlog(settings),
        ]
        alerts = len(read_topic(settings, settings.topic_alerts))
        if any(lags) or alerts != last:
            since, last = time.monotonic(), alerts
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(1)


def _oracle(
    settings: Settings, scenario: Scenario, workers: Workers, client: Client, database: str
) -> list[str]:
    problems = []
    keys, ids = _alert_keys(settings)
    want = _labelled(scenario)
    if keys != want:
        problems.append(f"alerts differ from the labels: {len(want - keys)} missing, "
                        f"{len(keys - want)} unexpected")  # fmt: skip
    repeated = len(ids) - len(set(ids))
    if repeated:
        problems.append(f"{repeated} alert records repeated (read_committed)")
    rows = scenario.rows()
    for table, (_, identity) in TABLES.items():
        where = f"{database}.{table}"  # names of our own, not input
        got = client.execute(f"SELECT count(), uniqExact({identity}) FROM {where} FINAL")  # noqa: S608
        count, distinct = int(got[0][0]), int(got[0][1])
        if count != rows[table] or distinct != count:
            problems.append(f"{table}: {count} rows ({distinct} distinct) through FINAL, "
                            f"want {rows[table]}")  # fmt: skip
        client.execute(f"OPTIMIZE TABLE {where} FINAL")
        plain = int(client.execute(f"SELECT count() FROM {where}")[0][0])  # noqa: S608
        if plain != rows[table]:
            problems.append(f"{table}: {plain} rows after OPTIMIZE FINAL, want {rows[table]}")
    dead = Counter(
        msg.value() or b""
        for msg in read_topic(settings, settings.topic_dead_letter)
        if any(name == ERROR_REASON_HEADER for name, _ in headers(msg))
    )
    if dead != scenario.malformed:
        problems.append(f"dead letters differ: {sum((scenario.malformed - dead).values())} "
                        f"bad lines missing, {sum((dead - scenario.malformed).values())} "
                        "extra or repeated")  # fmt: skip
    problems += workers.failures()
    for name, statuses in workers.statuses.items():
        bad = [s for s in statuses if s not in (0, -signal.SIGKILL)]
        if bad:
            problems.append(f"worker {name} ended with status {bad} (0 expected)")
    return problems


# ---------------------------------------------------------------- the command


def _plan(faults: list[str], positions: list[int], combined: bool) -> list[list[tuple[str, int]]]:
    if combined:
        return [[(f, COMBINED_AT[f]) for f in faults]]
    return [[(f, p)] for f in faults for p in positions]


@click.command()
@click.option("--faults", default=",".join(FAULTS), show_default=True,
              help="Comma-separated faults to inject.")  # fmt: skip
@click.option("--positions", default="10,50,90", show_default=True,
              help="Comma-separated positions in the feed, per cent.")  # fmt: skip
@click.option("--combined", is_flag=True, help="One run with every fault once, in turn.")
@click.option("--negative-control/--no-negative-control", default=True, show_default=True,
              help="Also run a kill with alerts outside the transaction (must fail).")  # fmt: skip
@click.option("--events", default=12_000, show_default=True, type=click.IntRange(1000))
@click.option("--rate", default=150.0, show_default=True, type=click.FloatRange(10),
              help="Steady replay rate, events/s.")  # fmt: skip
@click.option("--seed", default=21, show_default=True)
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 8),
              help="Run each worker with --processes N.")  # fmt: skip
def main(
    faults: str, positions: str, combined: bool, negative_control: bool, events: int,
    rate: float, seed: int, processes: int,
) -> None:  # fmt: skip
    """Inject faults while a scenario flows through the worker; nothing lost or repeated?"""
    # The ClickHouse outages are injected: the driver's reconnect warnings are expected noise.
    logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)
    chosen = [f.strip() for f in faults.split(",") if f.strip()]
    unknown = sorted(set(chosen) - set(FAULTS))
    if unknown:
        raise click.BadParameter(f"unknown fault(s) {unknown}; choose from {', '.join(FAULTS)}")
    where = [int(p) for p in positions.split(",") if p.strip()]
    plan = _plan(chosen, where, combined)
    folder = Path(tempfile.mkdtemp(prefix="controlfeed-chaos-"))
    verdicts: list[Verdict] = []
    control: Verdict | None = None
    with private_cluster(Settings(), folder) as cluster:
        with _err.status("generating the scenario..."):
            scenario = make_scenario(folder, events, seed)
        runs = len(plan) + (1 if negative_control else 0)
        with progress_bar(_err, unit="run", extra="{task.fields[phase]}") as bar:
            task = bar.add_task("chaos", total=runs, phase="")

            def phase(text: str) -> None:
                bar.update(task, phase=text)

            for n, run in enumerate(plan):
                verdict = run_faults(cluster, scenario, run, folder / f"run-{n}", rate=rate,
                                     processes=processes, phase=phase)  # fmt: skip
                verdicts.append(verdict)
                bar.advance(task)
            if negative_control:
                control = run_faults(cluster, scenario, [("kill", 50)], folder / "control",
                                     rate=rate, unsafe=True, processes=processes,
                                     phase=phase)  # fmt: skip
                bar.advance(task)
    ok = _report(verdicts, control, scenario, folder)
    sys.exit(0 if ok else 1)


def _report(
    verdicts: list[Verdict], control: Verdict | None, scenario: Scenario, folder: Path
) -> bool:
    table = Table(title=f"chaos: {scenario.lines:,} lines, {len(scenario.labels['alerts'])} "
                  "labelled alerts per run", title_justify="left")  # fmt: skip
    for column in ("faults", "alerts read", "seconds", "verdict"):
        table.add_column(column)
    for v in verdicts:
        what = ", ".join(f"{f} at {p} %" for f, p in v.faults)
        verdict = "[green]pass[/]" if v.passed else "[red]FAIL[/]: " + "; ".join(v.problems)
        table.add_row(what, str(v.alerts), f"{v.seconds:.0f}", verdict)
    if control is not None:
        seen = "; ".join(control.problems) or "nothing"
        verdict = (
            "[green]failed as it must[/]: " if not control.passed else "[red]PASSED[/]: "
        ) + seen
        table.add_row("negative control: kill at 50 %, alerts outside the transaction",
                      str(control.alerts), f"{control.seconds:.0f}", verdict)  # fmt: skip
    _out.print(table)
    _out.print(f"logs: {folder}")
    return all(v.passed for v in verdicts) and (control is None or not control.passed)


if __name__ == "__main__":
    main()
