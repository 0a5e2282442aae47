"""controlfeed status against a real /metrics endpoint served by prometheus_client."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from tests.integration.helpers import run_cli


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def worker_port() -> Iterator[int]:
    """A fake worker: a fresh registry with the catalogue's names, served on a free port."""
    registry = CollectorRegistry()
    events = Counter("controlfeed_events", "e", ["feed"], registry=registry)
    events.labels(feed="venue_scan").inc(1234)
    alerts = Counter("controlfeed_alerts", "a", ["rule", "severity"], registry=registry)
    alerts.labels(rule="crowding", severity="warning").inc(3)
    lag = Gauge("controlfeed_consumer_lag_records", "l", ["topic", "partition"], registry=registry)
    lag.labels(topic="feeds.venue-scans", partition="2").set(17)
    Gauge("controlfeed_sink_paused", "p", registry=registry).set(1)
    port = _free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield port
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_status_reads_the_worker_and_says_prometheus_was_not_used(worker_port: int) -> None:
    env = {"CONTROLFEED_METRICS_PORT": str(worker_port), "CONTROLFEED_PROMETHEUS_PORT": "1"}

    result = run_cli("status", "--json", env=env)

    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    venue = next(f for f in body["feeds"] if f["feed"] == "venue_scan")
    assert venue["total"] == 1234
    assert body["lag"] == {"feeds.venue-scans": 17}
    assert body["alerts"]["source"] == "worker"
    assert body["alerts"]["counts"] == [{"rule": "crowding", "severity": "warning", "alerts": 3}]
    assert body["sink"]["paused"] is True


def test_status_screen(worker_port: int) -> None:
    env = {"CONTROLFEED_METRICS_PORT": str(worker_port), "CONTROLFEED_PROMETHEUS_PORT": "1"}

    result = run_cli("status", env=env)

    assert result.returncode == 0, result.stderr
    for part in ("venue_scan", "1,234", "feeds.venue-scans", "crowding", "from worker", "PAUSED"):
        assert part in result.stdout


def test_status_without_a_worker_says_what_to_do() -> None:
    result = run_cli("status", env={"CONTROLFEED_METRICS_PORT": str(_free_port())})

    assert result.returncode == 2
    assert "worker is not reachable" in result.stderr
    assert "controlfeed worker" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_url_watches_a_worker_on_another_address(worker_port: int) -> None:
    env = {"CONTROLFEED_METRICS_PORT": str(_free_port()), "CONTROLFEED_PROMETHEUS_PORT": "1"}

    result = run_cli("status", "--url", f"http://localhost:{worker_port}/metrics", "--json",
                     env=env)  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["worker"] == f"localhost:{worker_port}"
    assert body["sink"]["paused"] is True


def test_status_json_without_a_worker_is_a_json_error() -> None:
    result = run_cli("status", "--json", env={"CONTROLFEED_METRICS_PORT": str(_free_port())})

    assert result.returncode == 2
    body = json.loads(result.stdout)
    assert "worker is not reachable" in body["error"] and "--url" in body["hint"]
    assert "Traceback" not in result.stderr
