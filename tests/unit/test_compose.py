"""docker/compose.yaml agrees with the code: setting names, ports, versions."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from streams.settings import PROJECT_ROOT, Settings
from streams.stack.kafka import kafka_version
from streams.stack.prometheus import PROMETHEUS_CONFIG

COMPOSE = PROJECT_ROOT / "docker" / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


@pytest.fixture(scope="module")
def defaults() -> Iterator[Settings]:
    """The settings' defaults, whatever CONTROLFEED_* variables this shell has."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("CONTROLFEED_")]:
            patch.delenv(name)
        yield Settings()


def _published(service: dict[str, Any]) -> set[int]:
    return {int(str(p).split(":")[-1]) for p in service.get("ports", [])}


def test_every_controlfeed_variable_is_a_setting(services: dict[str, Any]) -> None:
    fields = {f"CONTROLFEED_{name.upper()}" for name in Settings.model_fields}
    used = {
        k
        for svc in services.values()
        for k in svc.get("environment", {})
        if k.startswith("CONTROLFEED_")
    }

    assert used, "the worker should be configured through CONTROLFEED_* variables"
    assert used <= fields, f"not settings: {sorted(used - fields)}"


def test_kafka_runs_the_pinned_release_with_our_port(
    services: dict[str, Any], defaults: Settings
) -> None:
    kafka = services["kafka"]
    env = kafka["environment"]

    assert kafka["image"] == f"apache/kafka:{kafka_version()}"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_ADVERTISED_LISTENERS"].endswith(f":{defaults.kafka_port}")
    assert defaults.kafka_port in _published(kafka)
    worker_env = services["worker"]["environment"]
    assert worker_env["CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS"] == f"kafka:{defaults.kafka_port}"


def test_clickhouse_ports_match_the_settings(services: dict[str, Any], defaults: Settings) -> None:
    assert {defaults.clickhouse_tcp_port, defaults.clickhouse_http_port} <= _published(
        services["clickhouse"]
    )
    url = services["worker"]["environment"]["CONTROLFEED_CLICKHOUSE_URL"]
    assert url.startswith("clickhouse://") and f"@clickhouse:{defaults.clickhouse_tcp_port}/" in url


def test_prometheus_scrapes_the_worker_where_it_serves_metrics(
    services: dict[str, Any], defaults: Settings
) -> None:
    worker_port = int(services["worker"]["environment"]["CONTROLFEED_METRICS_PORT"])
    scrape = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["scrape_configs"]
    [job] = [j for j in scrape if j["job_name"] == "controlfeed-worker"]

    assert worker_port == defaults.metrics_port
    assert job["dns_sd_configs"] == [
        {"names": ["worker"], "type": "A", "port": worker_port, "refresh_interval": "15s"}
    ]
    assert defaults.prometheus_port in _published(services["prometheus"])
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]


def test_the_worker_image_runs_the_controlfeed_command(
    services: dict[str, Any], defaults: Settings
) -> None:
    dockerfile = (PROJECT_ROOT / "docker" / "worker" / "Dockerfile").read_text()

    assert services["worker"]["build"]["dockerfile"] == "docker/worker/Dockerfile"
    assert services["worker"]["command"][0] == "controlfeed"
    assert 'controlfeed = "streams.cli:main"' in (PROJECT_ROOT / "pyproject.toml").read_text()
    assert f"EXPOSE {defaults.metrics_port}" in dockerfile


def test_the_worker_image_copies_every_package_the_project_ships() -> None:
    dockerfile = (PROJECT_ROOT / "docker" / "worker" / "Dockerfile").read_text()
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]

    assert packages
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, f"the image lacks {package}/"


def test_the_worker_gets_a_pseudonym_key_and_serves_metrics_beyond_its_container(
    services: dict[str, Any], compose: dict[str, Any]
) -> None:
    worker = services["worker"]
    env = worker["environment"]

    assert env["CONTROLFEED_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 (inside a container)
    key_file = env["CONTROLFEED_PSEUDONYM_KEY_FILE"]
    assert key_file == "/run/secrets/pseudonym_key" and "pseudonym_key" in worker["secrets"]
    assert "pseudonym_key" in compose["secrets"]
