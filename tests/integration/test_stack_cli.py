"""``controlfeed stack`` as a user types it: status, repeated up, clear failures."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.devtools.stack import Stack
from streams.devtools.stack.kafka import api_versions_answered
from streams.settings import Settings
from tests.integration.helpers import run_cli


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port taken by a socket that speaks no known protocol."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_status_reports_every_service_healthy_with_its_log(
    stack: Stack, settings: Settings
) -> None:
    result = run_cli("stack", "status")

    assert result.returncode == 0, result.stdout + result.stderr
    for service in ("kafka", "clickhouse", "alertmanager", "prometheus"):
        line = next(ln for ln in result.stdout.splitlines() if f" {service} " in ln)
        assert "running" in line or "external" in line
    assert str(settings.data_dir / "kafka" / "logs" / "server.log") in result.stdout


def test_up_twice_is_harmless(stack: Stack) -> None:
    pids = [s.pid for s in stack.status()]

    result = run_cli("stack", "up")

    assert result.returncode == 0, result.stderr
    assert [s.pid for s in stack.status()] == pids


def test_a_taken_port_is_named_with_what_to_do(held_port: int, tmp_path: Path) -> None:
    env = {"CONTROLFEED_PROMETHEUS_PORT": str(held_port), "CONTROLFEED_DATA_DIR": str(tmp_path)}

    result = run_cli("stack", "up", "prometheus", env=env)

    assert result.returncode == 2
    assert f"port {held_port}" in result.stderr
    assert "CONTROLFEED_PROMETHEUS_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_program_names_its_package(tmp_path: Path) -> None:
    env = {
        "PATH": str(Path(sys.executable).parent),
        "CONTROLFEED_PROMETHEUS_PORT": str(_free_port()),
        "CONTROLFEED_DATA_DIR": str(tmp_path),
    }

    result = run_cli("stack", "up", "prometheus", env=env)

    assert result.returncode == 2
    assert "prometheus" in result.stderr and "apt-get install" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_java_is_explained(tmp_path: Path) -> None:
    env = {
        "PATH": str(Path(sys.executable).parent),
        "CONTROLFEED_KAFKA_PORT": str(_free_port()),
        "CONTROLFEED_KAFKA_CONTROLLER_PORT": str(_free_port()),
        "CONTROLFEED_DATA_DIR": str(tmp_path),
    }

    result = run_cli("stack", "up", "kafka", env=env)

    assert result.returncode == 2
    assert "java" in result.stderr and "openjdk-17" in result.stderr


def test_a_bad_setting_is_a_message_not_a_traceback() -> None:
    result = run_cli("stack", "status", env={"CONTROLFEED_KAFKA_PORT": "ninety"})

    assert result.returncode == 2
    assert "CONTROLFEED_KAFKA_PORT='ninety': expected a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_smoke_passes_against_the_stack(stack: Stack) -> None:
    result = run_cli("smoke")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 of 3 checks passed" in result.stdout


def test_the_kafka_probe_tells_a_broker_from_another_server(
    stack: Stack, settings: Settings
) -> None:
    assert api_versions_answered("127.0.0.1", settings.kafka_port)
    assert not api_versions_answered("127.0.0.1", settings.clickhouse_http_port)


def test_status_json_lists_every_service(stack: Stack, settings: Settings) -> None:
    result = run_cli("stack", "status", "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    services = {s["service"]: s for s in json.loads(result.stdout)}
    assert set(services) == {"kafka", "clickhouse", "alertmanager", "prometheus"}
    assert all(s["healthy"] and s["state"] in ("running", "external") for s in services.values())
    assert services["kafka"]["log"] == str(settings.data_dir / "kafka" / "logs" / "server.log")
