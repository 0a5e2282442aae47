"""Daemon: spawn, find again, stop; stale pid files are not believed."""

from __future__ import annotations

import os
from pathlib import Path

from streams.devtools.stack.process import Daemon, port_is_open, tail


def _daemon(tmp_path: Path, marker: str = "sleep") -> Daemon:
    return Daemon(tmp_path / "pid", tmp_path / "out.log", marker)


def test_spawned_process_is_found_and_stopped(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    pid = daemon.spawn(["sleep", "60"], cwd=tmp_path)

    assert daemon.pid() == pid
    assert daemon.stop(timeout=5) is True
    assert daemon.pid() is None
    assert not (tmp_path / "pid").exists()


def test_a_pid_file_naming_another_program_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pid").write_text(f"{os.getpid()}\n")

    assert _daemon(tmp_path, marker="kafka.Kafka").pid() is None
    assert not (tmp_path / "pid").exists()


def test_stop_without_a_process_says_so(tmp_path: Path) -> None:
    assert _daemon(tmp_path).stop() is False


def test_tail_of_a_missing_log_says_it_is_missing(tmp_path: Path) -> None:
    assert "does not exist" in tail(tmp_path / "nope.log")


def test_a_closed_port_is_not_open() -> None:
    assert port_is_open(1) is False
