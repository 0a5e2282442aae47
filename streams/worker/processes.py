"""``controlfeed worker --processes N``: N worker processes in one group, one metrics page.

Called by ``streams.cli.worker`` when more than one process is asked for
(``--processes`` or ``CONTROLFEED_WORKER_PROCESSES``). Python runs one
thread at a time, so one worker process uses about one core however many
stages it runs; N processes use N. The children split the stages
(``child_roles``): even ones run ingest and the sink, odd ones the engines.
Each is ``controlfeed worker`` in child mode with the same settings, the
same pseudonym key, and a name of its own derived from the parent's
(``<name>.p<i>``), so a restarted parent gives every child its old
transactional ids back and each fences its killed predecessor. The children
are members of the worker's consumer groups like separate workers are
(``docs/worker.md``): the input partitions and the engine partitions are
split among them, so N processes raise the same alerts as one.

The parent keeps no pipeline state. It

- hands each child the key on its standard input (never in its
  environment or command line);
- serves ``/metrics`` on the configured port: every child's page, each
  sample labelled ``process="<i>"``, plus ``controlfeed_worker_process_up``
  per child (a child serves its own page on an ephemeral loopback port);
- logs one ``Ready:`` line once every child has its first assignment;
- forwards SIGTERM and SIGINT (stop: each child commits and leaves its
  groups) and SIGUSR1 (stack dumps) to the children;
- stops every child when one exits by itself, and exits with status 1: the
  supervisor restarts the whole worker, and each child comes back under its
  old name.

The children die with the parent (``PR_SET_PDEATHSIG``): a parent killed
with SIGKILL leaves no orphan holding partitions, and a kill of the parent
is a kill of the worker, as a fault test expects. With the embedded store
(chDB: one process's store, no ClickHouse server configured) only child 0
runs the sink; with a server every even child runs a sink member.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Final

from prometheus_client import start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample

from streams.exceptions import ControlfeedError
from streams.settings import Settings
from streams.worker.runtime import ROLES, STOP_TIMEOUT_S

__all__ = ["PORT_FILE", "READY_FILE", "child_name", "run_processes"]

log = logging.getLogger(__name__)

PORT_FILE: Final = "p{index}.port"
"""In the parent's folder: the loopback port a child serves its ``/metrics`` on."""
READY_FILE: Final = "p{index}.ready"
"""In the parent's folder: made by a child once all its stages have their assignment."""
_CLI: Final = (sys.executable, "-c", "from streams.cli import main; main()")
_SCRAPE_TIMEOUT_S: Final = 2.0
_START_TIMEOUT_S: Final = 120.0
_PR_SET_PDEATHSIG: Final = 1


def child_name(name: str, index: int) -> str:
    """The worker name of child ``index`` of the worker named ``name``."""
    return f"{name}.p{index}"


def child_roles(index: int, processes: int) -> tuple[str, ...]:
    """The stages child ``index`` of ``processes`` runs: ingest (and the sink) in even
    children, the engines in odd ones; everything when there is one.

    Split, because the stages of one process share one interpreter lock: two
    processes of all three stages carried 10,670 events/s (10,036-11,304), an
    ingest process and an engine process 11,446 (11,439-11,454), one process
    8,304, interleaved on the same topics (``docs/benchmarks.md``).
    """
    if processes == 1:
        return ROLES
    return ("ingest", "sink") if index % 2 == 0 else ("engine",)


def run_processes(
    settings: Settings,
    key: bytes,
    name: str,
    processes: int,
    loglevel: str,
    *,
    unsafe: bool = False,
) -> int:
    """Run ``processes`` child workers until a signal or a child's exit; the exit status.

    0 when stopped by a signal and every child stopped cleanly; 1 when a
    child failed, exited by itself, or did not start. Raises
    ``ControlfeedError`` when the metrics port cannot be served.
    """
    with tempfile.TemporaryDirectory(prefix="controlfeed-worker-") as folder:
        children = _Children(Path(folder))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(children)
        try:
            start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
        except OSError as err:
            raise ControlfeedError(
                f"cannot serve the worker's metrics on {settings.metrics_host}:"
                f"{settings.metrics_port}: {err.strerror}",
                hint="Another process holds the port: stop it, or set CONTROLFEED_METRICS_PORT.",
            ) from err
        stopping = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if signum == signal.SIGUSR1:
                children.signal(signal.SIGUSR1)
                return
            log.info("%s: the worker's %d processes stop", signal.Signals(signum).name,
                     processes)  # fmt: skip
            stopping.set()
            children.signal(signal.SIGTERM)

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(signum, on_signal)
        for index in range(processes):
            roles = child_roles(index, processes)
            children.start(index, _child_settings(settings, name, index), key, loglevel, unsafe,
                           roles)  # fmt: skip
        return _supervise(children, settings, name, stopping)


def _supervise(
    children: _Children, settings: Settings, name: str, stopping: threading.Event
) -> int:
    """Wait for a signal or a child's exit; stop every child; the exit status."""
    started, announced, failed = time.monotonic(), False, False
    while not stopping.wait(0.2):
        exited = children.exited()
        if exited:
            index, status = exited[0]
            log.error("worker process %d exited with status %s; the worker stops", index, status)
            failed = True
            break
        if not announced and children.all_ready():
            announced = True
            log.info("Ready: worker %s, %d processes (%s), group %s", name, len(children),
                     ", ".join(children.names), settings.worker_group)  # fmt: skip
        elif not announced and time.monotonic() - started > _START_TIMEOUT_S:
            log.warning("worker processes not all ready after %.0f s; still waiting",
                        _START_TIMEOUT_S)  # fmt: skip
            started = time.monotonic()
    children.signal(signal.SIGTERM)
    statuses = children.wait(STOP_TIMEOUT_S + 10)
    if any(s != 0 for s in statuses):
        failed = True
    return 1 if failed else 0


def _child_settings(settings: Settings, name: str, index: int) -> Settings:
    """The settings of child ``index``: its name; the sink in child 0 only with chDB."""
    update: dict[str, object] = {"worker_id": child_name(name, index), "worker_processes": 1}
    if index > 0 and not settings.clickhouse_url:
        update["sink_enabled"] = False  # chDB is one process's store
    return settings.model_copy(update=update)


def _die_with_parent() -> None:
    """In the child, before ``exec``: SIGKILL when the parent dies (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _Children(Collector):
    """The child processes, and the collector that serves their pages as one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.names: list[str] = []

    def __len__(self) -> int:
        return len(self.procs)

    def start(
        self,
        index: int,
        settings: Settings,
        key: bytes,
        loglevel: str,
        unsafe: bool,
        roles: Sequence[str],
    ) -> None:
        """Start child ``index``; it reads the key from its standard input."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTROLFEED_")}
        env |= settings.to_env()
        env.pop("CONTROLFEED_PSEUDONYM_KEY", None)
        env.pop("CONTROLFEED_PSEUDONYM_KEY_FILE", None)
        args = [*_CLI, "worker", "--loglevel", loglevel, "--child", f"{self.folder}:{index}",
                "--roles", ",".join(roles)]  # fmt: skip
        if unsafe:
            args.append("--unsafe-commit-first")
        proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE, preexec_fn=_die_with_parent)
        assert proc.stdin is not None
        proc.stdin.write(key)
        proc.stdin.close()
        self.procs[index] = proc
        self.names.append(settings.worker_id)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to every child still running."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signum)

    def exited(self) -> list[tuple[int, int]]:
        """(index, status) of the children that have exited."""
        return [(i, p.returncode) for i, p in self.procs.items() if p.poll() is not None]

    def all_ready(self) -> bool:
        """Whether every child has made its ready file."""
        return all((self.folder / READY_FILE.format(index=i)).exists() for i in self.procs)

    def wait(self, timeout: float) -> list[int]:
        """Wait up to ``timeout`` s for every child (SIGKILL after); their statuses."""
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker process %d still busy, killing it", proc.pid)
                proc.kill()
                proc.wait(10)
        return [p.returncode for p in self.procs.values()]

    def _port(self, index: int) -> int | None:
        try:
            return int((self.folder / PORT_FILE.format(index=index)).read_text())
        except (OSError, ValueError):
            return None

    def collect(self) -> Iterator[Metric]:
        """Every child's metrics labelled with ``process``; whether each child answered."""
        merged: dict[str, Metric] = {}
        up = GaugeMetricFamily(
            "controlfeed_worker_process_up",
            "Whether a worker process answered the last scrape (1) or not (0).",
            labels=["process"],
        )
        for index in sorted(self.procs):
            text = self._scrape(index)
            up.add_metric([str(index)], 0.0 if text is None else 1.0)
            for family in text_string_to_metric_families(text or ""):
                into = merged.get(family.name)
                if into is None:
                    into = merged[family.name] = Metric(
                        family.name, family.documentation, family.type, family.unit
                    )
                label = str(index)
                into.samples.extend(
                    Sample(s.name, {**s.labels, "process": label}, s.value, s.timestamp, s.exemplar)
                    for s in family.samples
                )
        yield up
        yield from merged.values()

    def _scrape(self, index: int) -> str | None:
        port = self._port(index)
        if port is None:
            return None
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            with urllib.request.urlopen(url, timeout=_SCRAPE_TIMEOUT_S) as response:
                return str(response.read().decode())
        except OSError:
            return None
