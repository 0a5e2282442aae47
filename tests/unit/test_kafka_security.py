"""The one client factory's security settings (``streams.kafka.clients``), without a broker."""

from __future__ import annotations

from pathlib import Path

import faust
import pytest

from streams.exceptions import ControlfeedError
from streams.kafka.clients import (
    admin_client,
    consumer_config,
    faust_credentials,
    producer_config,
    redacted,
    security_config,
)
from streams.settings import Settings

SECRET = "s3cret-Passw0rd"


def _sasl(tmp_path: Path, **more: object) -> Settings:
    password = tmp_path / "worker.password"
    password.write_text(SECRET + "\n")
    return Settings(kafka_security_protocol="SASL_SSL", kafka_username="worker",
                    kafka_password_file=password, kafka_ca_file=tmp_path / "ca.pem",
                    **more)  # type: ignore[arg-type]  # fmt: skip


def test_plaintext_adds_nothing() -> None:
    assert security_config(Settings()) == {}
    assert faust_credentials(Settings()) is None


def test_sasl_ssl_reaches_every_kind_of_client(tmp_path: Path) -> None:
    settings = _sasl(
        tmp_path, kafka_client_options={"ssl.endpoint.identification.algorithm": "none"}
    )

    want = {
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "worker",
        "sasl.password": SECRET,
        "ssl.ca.location": str(tmp_path / "ca.pem"),
        "ssl.endpoint.identification.algorithm": "none",
    }
    assert security_config(settings) == want
    for config in (consumer_config(settings, "g", "c"), producer_config(settings, "p")):
        assert want.items() <= config.items()
    # Both take them (librdkafka checks their names); a CA file both would read at once.
    without_ca = settings.model_copy(update={"kafka_ca_file": None})
    admin_client(without_ca)
    credentials = faust_credentials(without_ca)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "worker" and credentials.password == SECRET


def test_a_rotated_password_file_is_read_by_the_next_client(tmp_path: Path) -> None:
    settings = _sasl(tmp_path)
    (tmp_path / "worker.password").write_text("the-new-one\n")

    assert security_config(settings)["sasl.password"] == "the-new-one"


def test_redacted_hides_every_secret(tmp_path: Path) -> None:
    shown = redacted(producer_config(_sasl(tmp_path), "p"))

    assert shown["sasl.password"] == "***" and SECRET not in repr(shown)
    assert shown["sasl.username"] == "worker"


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (Settings(kafka_security_protocol="SASL_SSL"), "CONTROLFEED_KAFKA_USERNAME"),
        (Settings(kafka_security_protocol="SASL_SSL", kafka_username="worker"),
         "CONTROLFEED_KAFKA_PASSWORD_FILE"),
        (Settings(kafka_security_protocol="SASL_SSL", kafka_username="worker",
                  kafka_password_file=Path("/nonexistent/pw")), "CONTROLFEED_KAFKA_PASSWORD_FILE"),
    ],
)  # fmt: skip
def test_missing_credentials_say_which_setting(settings: Settings, says: str) -> None:
    with pytest.raises(ControlfeedError) as raised:
        security_config(settings)

    assert says in raised.value.hint
