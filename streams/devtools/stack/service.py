"""What every service of the local stack does: start, wait, report, stop.

``streams.devtools.stack.manager`` calls these for Kafka, ClickHouse, Alertmanager and Prometheus.
A subclass says which ports it needs, which programs must be installed, how
to prepare its files, which command runs it and how to tell it is ready;
this base class owns the common rules:

- ``start`` twice is harmless: a running service of ours is left alone;
- a port answered by a healthy service we did not start is used as it is
  (state ``external``), a port taken by anything else is an error that says so;
- a service that dies or stays unready reports the end of its log.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from streams.devtools.stack.process import Daemon, port_is_open, tail, wait_until
from streams.exceptions import PortInUseError, ServiceNotReadyError
from streams.settings import Settings

__all__ = ["Service", "ServiceState", "ServiceStatus"]


class ServiceState(StrEnum):
    """How a service looks from outside."""

    RUNNING = "running"
    """Started by this stack and ready."""
    STARTING = "starting"
    """Started by this stack, not ready yet."""
    EXTERNAL = "external"
    """Ready, but not started by this stack (another checkout, a system service)."""
    STOPPED = "stopped"
    """Not running and its ports are free."""
    BLOCKED = "blocked"
    """Not ours and not healthy, yet a port it needs is taken."""


@dataclass(frozen=True)
class ServiceStatus:
    """One line of ``controlfeed stack status``."""

    name: str
    """Service name: kafka, clickhouse or prometheus."""
    state: ServiceState
    """Running, starting, external, stopped or blocked."""
    address: str
    """Where clients reach it."""
    pid: int | None
    """Pid of our process, when we started it."""
    log: Path
    """The service's main log file."""

    @property
    def healthy(self) -> bool:
        """True when clients can use the service now."""
        return self.state in (ServiceState.RUNNING, ServiceState.EXTERNAL)


class Service(ABC):
    """One service of the local stack; subclasses fill in the specifics."""

    name: str = ""
    """Short name used in messages, folders and the status table."""
    marker: str = ""
    """A string of the service's command line (see ``Daemon.marker``)."""
    ready_timeout: float = 60.0
    """Seconds to wait for readiness after a start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.data_dir / self.name
        """This service's folder: config, data, logs, pid file."""
        self.daemon = Daemon(self.home / "pid", self.home / "logs" / "stdout.log", self.marker)

    @property
    @abstractmethod
    def ports(self) -> list[int]:
        """Every port the service listens on."""

    @property
    @abstractmethod
    def address(self) -> str:
        """Where clients reach the service, for messages and the status table."""

    @property
    @abstractmethod
    def log_path(self) -> Path:
        """The service's main log."""

    @property
    def port_setting(self) -> str:
        """The variable to change when the service's first port is taken."""
        return f"CONTROLFEED_{self.name.upper()}_PORT"

    @abstractmethod
    def check_tools(self) -> None:
        """Raise ``MissingToolError`` when a program the service needs is missing."""

    @abstractmethod
    def prepare(self) -> None:
        """Write config files and initialise data; safe to repeat."""

    @abstractmethod
    def command(self) -> list[str]:
        """The command line that runs the service in the foreground."""

    @abstractmethod
    def probe(self) -> bool:
        """A quick readiness check through the service's own protocol."""

    def after_ready(self) -> None:  # noqa: B027 (a hook: most services need none)
        """Work once the service is ready (e.g. the secure broker's ACLs); safe to repeat."""

    def status(self) -> ServiceStatus:
        """What the service is doing now; never raises."""
        pid = self.daemon.pid()
        if pid is not None:
            state = ServiceState.RUNNING if self.probe() else ServiceState.STARTING
        elif not any(port_is_open(p) for p in self.ports):
            state = ServiceState.STOPPED
        else:
            state = ServiceState.EXTERNAL if self.probe() else ServiceState.BLOCKED
        return ServiceStatus(self.name, state, self.address, pid, self.log_path)

    def start(self) -> ServiceStatus:
        """Launch the service unless it runs already; does not wait for readiness."""
        current = self.status()
        if current.state in (ServiceState.RUNNING, ServiceState.STARTING, ServiceState.EXTERNAL):
            return current
        taken = [p for p in self.ports if port_is_open(p)]
        if taken:
            raise PortInUseError(
                f"{self.name}: port {taken[0]} on 127.0.0.1 is taken by another program "
                f"that does not answer as {self.name}.",
                hint=f"Stop that program (`ss -ltnp | grep :{taken[0]}` names it) or pick "
                f"free ports with {self.port_setting} and friends (see the README).",
            )
        self.check_tools()
        self.home.mkdir(parents=True, exist_ok=True)
        self.prepare()
        self.daemon.spawn(self.command(), cwd=self.home)
        return self.status()

    def wait_ready(self) -> ServiceStatus:
        """Block until the service answers; raise ``ServiceNotReadyError`` if it dies or stalls."""
        pid = self.daemon.pid()

        def ready_or_dead() -> bool:
            return self.probe() or (pid is not None and not self.daemon.alive(pid))

        wait_until(ready_or_dead, self.ready_timeout)
        current = self.status()
        if not current.healthy:
            died = pid is not None and not self.daemon.alive(pid)
            why = (
                "exited during start-up" if died else f"not ready after {self.ready_timeout:.0f} s"
            )
            raise ServiceNotReadyError(
                f"{self.name} {why}. Last lines of {self.log_path}:\n{tail(self.log_path)}\n"
                f"(process output: {self.daemon.output_file})",
                hint=f"Read {self.log_path}; `controlfeed stack down` then `up` retries.",
            )
        return current

    def stop(self) -> bool:
        """Stop our process; True when one was running. An external service is left alone."""
        return self.daemon.stop()
