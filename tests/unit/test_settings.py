"""The settings object: prefix, derived addresses, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import streams.settings as settings_module
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


def test_in_a_checkout_the_data_dir_is_dot_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONTROLFEED_DATA_DIR", raising=False)

    assert settings_module.CHECKOUT == settings_module.PROJECT_ROOT
    assert Settings().data_dir == settings_module.PROJECT_ROOT / ".stack"


def test_installed_the_data_dir_is_the_users(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(settings_module, "CHECKOUT", None)
    monkeypatch.delenv("CONTROLFEED_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    assert Settings().data_dir == tmp_path / "xdg" / "controlfeed"


def test_installed_without_xdg_the_data_dir_is_under_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(settings_module, "CHECKOUT", None)
    monkeypatch.delenv("CONTROLFEED_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path))

    assert Settings().data_dir == tmp_path / ".local" / "share" / "controlfeed"


def test_unknown_variables_get_the_nearest_name() -> None:
    env = {"CONTROLFEED_KAFKA_PROT": "1", "CONTROLFEED_KAFKA_PORT": "1", "CONTROLFEED_XYZ": "2"}

    assert unknown_variables(env) == [
        ("CONTROLFEED_KAFKA_PROT", "CONTROLFEED_KAFKA_PORT"),
        ("CONTROLFEED_XYZ", None),
    ]
