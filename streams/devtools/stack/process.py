"""Background processes of the local stack: spawn, find again, stop.

Called by the services in this package. A service's process outlives the
command that started it (``controlfeed stack up`` returns at once), so it is
found again through a pid file, and a pid is trusted only while the process
behind it still runs the expected program (a stale pid file left by a killed
machine must not make us signal a stranger).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Daemon", "http_ready", "port_is_open", "tail", "terminate", "wait_until"]


def port_is_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds pass; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def terminate(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Stop a child started with ``Popen``: SIGTERM, then SIGKILL after ``timeout`` s; reaped.

    Called by the demo and the tests for the worker processes they start.
    """
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@dataclass
class Daemon:
    """One long-running process, remembered in ``pid_file``.

    ``marker`` is a string that must appear in the process's command line for
    the pid file to be believed (e.g. ``kafka.Kafka``).
    """

    pid_file: Path
    """Where the pid is kept between commands."""
    output_file: Path
    """The process's stdout and stderr (its own logs may go elsewhere)."""
    marker: str
    """A string of the expected command line; guards against reused pids."""

    def pid(self) -> int | None:
        """The pid of our running process, or None (the stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        child = _CHILDREN.get(pid)
        if child is not None and child.poll() is None:
            return pid  # our own child, possibly still inside exec (empty cmdline)
        cmdline = _cmdline(pid)
        if cmdline is not None and self.marker in cmdline:
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def spawn(self, argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> int:
        """Start ``argv`` in its own session, detached from the caller's terminal."""
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.output_file.parent.mkdir(parents=True, exist_ok=True)
        with self.output_file.open("ab") as out:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        _CHILDREN[proc.pid] = proc
        return proc.pid

    def alive(self, pid: int) -> bool:
        """True while ``pid`` runs; reaps it when it is our own exited child."""
        child = _CHILDREN.get(pid)
        if child is not None and child.poll() is not None:
            return False
        return _cmdline(pid) is not None

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout`` s; False when nothing of ours ran."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not self.alive(pid), timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not self.alive(pid), 10.0)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait(timeout=5)
        self.pid_file.unlink(missing_ok=True)
        return True


_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
"""Processes this interpreter spawned, kept so they can be reaped (no zombies in tests)."""


def _cmdline(pid: int) -> str | None:
    """The command line of a live process, or None when it is gone or a zombie."""
    proc = Path("/proc") / str(pid)
    try:
        status = (proc / "status").read_text()
        if "\nState:\tZ" in status:
            return None
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def http_ready(url: str, body: bytes | None = None, timeout: float = 2.0) -> bool:
    """Whether ``url`` (a local service's readiness path) answers 200, and ``body`` if given.

    The readiness probe of the HTTP services (ClickHouse's ``/ping``, Prometheus'
    and Alertmanager's ``/-/ready``); any failure to connect or answer is "not yet".
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (our local URL)
            return bool(resp.status == 200 and (body is None or resp.read().strip() == body))
    except (urllib.error.URLError, OSError):
        return False
