"""What the stack writes for each service, checked without starting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.devtools.stack.kafka import KafkaService, kafka_version
from streams.devtools.stack.prometheus import render_local_config
from streams.settings import PROJECT_ROOT, Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093, metrics_port=19308,
        prometheus_port=19090,
    )  # fmt: skip


def test_kafka_listens_on_loopback_at_the_configured_ports(settings: Settings) -> None:
    props = KafkaService(settings).server_properties()

    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"


def test_kafka_is_single_node_kraft_without_auto_created_topics(settings: Settings) -> None:
    props = KafkaService(settings).server_properties()

    assert props["process.roles"] == "broker,controller"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == str(settings.data_dir / "kafka" / "data")


def test_kafka_heap_comes_from_the_settings(settings: Settings) -> None:
    command = KafkaService(settings.model_copy(update={"kafka_heap": "768m"})).command()

    assert "-Xms768m" in command and "-Xmx768m" in command
    assert command[-2:] == [
        "kafka.Kafka",
        str(settings.data_dir / "kafka" / "config" / "server.properties"),
    ]


def test_the_pom_pins_a_kafka_4_release() -> None:
    assert kafka_version().startswith("4.")


def test_the_release_is_cached_outside_the_work_tree(settings: Settings) -> None:
    release = KafkaService(settings).release

    assert release.home == settings.cache_dir / f"kafka-{kafka_version()}"
    assert not release.home.is_relative_to(PROJECT_ROOT)


def test_prometheus_scrapes_local_ports(settings: Settings) -> None:
    config = render_local_config(settings)
    targets = {
        job["job_name"]: sc["targets"]
        for job in config["scrape_configs"]
        for sc in job["static_configs"]
    }

    assert targets == {"controlfeed-worker": ["127.0.0.1:19308"], "prometheus": ["127.0.0.1:19090"]}


def test_prometheus_rule_files_become_absolute(settings: Settings) -> None:
    rule_files = render_local_config(settings)["rule_files"]

    assert rule_files and all(Path(rf).is_absolute() for rf in rule_files)


def test_prometheus_scrapes_the_dns_found_workers_as_one_local_target(settings: Settings) -> None:
    [job] = [j for j in render_local_config(settings)["scrape_configs"]
             if j["job_name"] == "controlfeed-worker"]  # fmt: skip

    assert "dns_sd_configs" not in job
    assert job["static_configs"] == [{"targets": ["127.0.0.1:19308"]}]


def test_prometheus_sends_alerts_to_the_local_alertmanager(settings: Settings) -> None:
    own = settings.model_copy(update={"alertmanager_port": 19094})

    managers = render_local_config(own)["alerting"]["alertmanagers"]

    assert [t for m in managers for sc in m["static_configs"] for t in sc["targets"]] == [
        "127.0.0.1:19094"
    ]
