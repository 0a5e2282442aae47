"""The settings object: prefix, derived addresses, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streams.settings import Settings, unknown_variables


def test_bootstrap_follows_the_kafka_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTROLFEED_KAFKA_PORT", "19092")

    assert Settings().kafka_bootstrap_servers == "127.0.0.1:19092"


def test_an_explicit_bootstrap_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")

    assert Settings().kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"


def test_clickhouse_url_is_unset_by_default_and_the_stack_has_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONTROLFEED_CLICKHOUSE_URL", raising=False)
    monkeypatch.setenv("CONTROLFEED_CLICKHOUSE_TCP_PORT", "19000")

    settings = Settings()

    assert settings.clickhouse_url == ""
    assert settings.stack_clickhouse_url == "clickhouse://127.0.0.1:19000/default"


def test_ports_out_of_range_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTROLFEED_PROMETHEUS_PORT", "70000")

    with pytest.raises(ValidationError, match="prometheus_port"):
        Settings()


def test_data_dir_is_configurable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CONTROLFEED_DATA_DIR", str(tmp_path))

    assert Settings().data_dir == tmp_path


def test_to_env_rebuilds_the_same_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    original = Settings(data_dir=tmp_path, kafka_port=19092, topic_alerts="demo.x.alerts")

    for name, value in original.to_env().items():
        monkeypatch.setenv(name, value)

    assert Settings() == original


def test_topic_fields_name_topics_only() -> None:
    fields = Settings().topic_fields()

    assert "topic_alerts" in fields and "topic_engine" in fields
    assert "topic_partitions" not in fields and "topic_replication_factor" not in fields


def test_a_url_password_is_masked_in_the_repr() -> None:
    settings = Settings(clickhouse_url="clickhouse://writer:hunter2@db:9000/x")

    assert "hunter2" not in repr(settings)
    assert "clickhouse://writer:***@db:9000/x" in repr(settings)


def test_unknown_variables_get_the_nearest_name() -> None:
    env = {"CONTROLFEED_KAFKA_PROT": "1", "CONTROLFEED_KAFKA_PORT": "1", "CONTROLFEED_XYZ": "2"}

    assert unknown_variables(env) == [
        ("CONTROLFEED_KAFKA_PROT", "CONTROLFEED_KAFKA_PORT"),
        ("CONTROLFEED_XYZ", None),
    ]
