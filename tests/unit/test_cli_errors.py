"""Errors that speak: bad settings, ClickHouse URLs, --json errors, as a user types them.

Each runs ``streams.cli.main`` (in-process, or as a process where the terminal
itself is the point: a library's log output, standard input) and asserts the
message, the exit status and that no traceback is shown. Nothing here needs a
service: the one server address used is a port nothing listens on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.cli import main

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``controlfeed ARGS`` in-process: (exit status, stdout, stderr with one space per gap)."""
    try:
        main(list(args))
        status = 0
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, " ".join(err.split())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_bad_port_names_the_variable_and_the_form(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTROLFEED_KAFKA_PORT", "abc")

    status, _, err = _run(capsys, "topics", "list")

    assert status == 2
    assert "CONTROLFEED_KAFKA_PORT='abc': expected a whole number from 1 to 65535" in err
    assert "kafka_port" not in err and "pydantic.dev" not in err and "Traceback" not in err


def test_a_setting_that_is_not_json_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTROLFEED_KAFKA_CLIENT_OPTIONS", "acks=all")

    status, _, err = _run(capsys, "topics", "list")

    assert status == 2
    assert "CONTROLFEED_KAFKA_CLIENT_OPTIONS cannot be read: expected a JSON object" in err
    assert "Traceback" not in err


def test_a_misspelt_variable_is_warned_about_once_with_the_nearest_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CONTROLFEED_KAFKA_PROT", "19092")
    (tmp_path / "empty.jsonl").write_text("")

    status, _, err = _run(capsys, "validate", str(tmp_path / "empty.jsonl"))

    assert status == 0
    assert err.count("CONTROLFEED_KAFKA_PROT is not a controlfeed setting") == 1
    assert "did you mean CONTROLFEED_KAFKA_PORT?" in err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("garbage", "CONTROLFEED_CLICKHOUSE_URL: the URL is malformed"),
        ("http://127.0.0.1:6996", "http:// is ClickHouse's HTTP interface"),
        ("clickhouse://127.0.0.1:8123/default", "port 8123 is ClickHouse's HTTP port"),
        ("clickhouse://127.0.0.1:90000/default", "its port is not a number from 1 to 65535"),
        ("ftp://127.0.0.1/default", "the scheme must be clickhouse:// or clickhouses://"),
    ],
)
def test_a_clickhouse_url_that_cannot_work_is_refused_before_connecting(
    url: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTROLFEED_CLICKHOUSE_URL", url)

    began = time.monotonic()
    status, _, err = _run(capsys, "query", "SELECT 1")

    assert status == 2 and message in err and "Traceback" not in err
    assert time.monotonic() - began < 5  # the HTTP port hung for 61 s


def test_a_refused_url_never_shows_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTROLFEED_CLICKHOUSE_READ_URL", "clickhouse://r:hunter2@db:8123/x")

    status, out, err = _run(capsys, "query", "SELECT 1")

    assert status == 2 and "CONTROLFEED_CLICKHOUSE_READ_URL" in err
    assert "hunter2" not in out + err


def test_an_unreachable_server_shows_our_message_and_none_of_the_drivers_log() -> None:
    url = f"clickhouse://writer:hunter2@127.0.0.1:{_free_port()}/default"
    env = {**os.environ, "CONTROLFEED_CLICKHOUSE_URL": url, "COLUMNS": "200"}

    done = subprocess.run([*CLI, "query", "SELECT 1"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip

    assert done.returncode == 2
    assert "is unreachable" in done.stderr and "Connection refused" in done.stderr
    assert "Traceback" not in done.stderr and "Failed to connect" not in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def test_with_json_an_error_is_json_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(capsys, "status", "--json", "--url", f"127.0.0.1:{_free_port()}")

    assert status == 2
    body = json.loads(out)
    assert body["error"].startswith("the worker is not reachable")
    assert "controlfeed worker" in body["hint"]


def test_with_json_a_settings_error_is_json_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTROLFEED_KAFKA_PORT", "abc")

    status, out, _ = _run(capsys, "topics", "list", "--json")

    assert status == 2
    assert "CONTROLFEED_KAFKA_PORT" in json.loads(out)["error"]


def test_status_url_must_be_http(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, "status", "--url", "ftp://worker-1:9308")

    assert status == 2 and "--url 'ftp://worker-1:9308' is not an http(s) URL" in err


def test_bash_completion_is_served() -> None:
    env = {**os.environ, "_CONTROLFEED_COMPLETE": "bash_source"}

    done = subprocess.run([*CLI], env=env, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip

    assert done.returncode == 0 and "_controlfeed_completion" in done.stdout
