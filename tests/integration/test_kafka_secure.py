"""The pipeline on a secured broker: SASL_SSL (SCRAM-SHA-512 over TLS) and ACLs per principal.

Issue 14, first "Done when". The module starts a broker of its own with
``CONTROLFEED_STACK_SECURE`` (its folder, its ports, the default topic names its
ACLs are written for) and stops it at the end; the plaintext stack of the other
tests is not touched. The worker runs as ``worker``, replay as ``producer``, and
the alerts are read as ``downstream``: they equal the sample's labels; so do the
clean topics (issue 15): every valid event once, validated, versioned, keyed by
subject, with no raw ID or phone number. Then the
refusals: ``downstream`` may not read a feed or the dead letters, ``producer``
may read nothing, and a plaintext client, a TLS client without SASL and a wrong
password get nothing. No password appears in any output of the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException

from schemas.downstream import CLEAN_SCHEMA_VERSION, downstream_key, load_downstream
from streams.devtools.demo import SAMPLE, sample_event_ids, sample_labels
from streams.devtools.stack import Stack
from streams.devtools.stack.kafka import KafkaService
from streams.devtools.stack.kafka_secrets import LocalSecrets
from streams.devtools.stack.process import tail, terminate
from streams.kafka.clients import admin_client, consumer
from streams.kafka.read import read_topic
from streams.kafka.topics import declare_topics
from streams.settings import Settings
from tests.integration.helpers import (
    ID_NUMBER,
    PHONE,
    assert_labelled,
    free_port,
    run_cli,
    settle,
    start_worker,
)


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, LocalSecrets]]:
    """A secure broker of this module: (its settings, with no credentials; its secrets)."""
    folder = tmp_path_factory.mktemp("secure")
    port = free_port()
    settings = Settings(
        stack_secure=True, data_dir=folder, kafka_port=port, kafka_controller_port=free_port(),
        kafka_bootstrap_servers=f"127.0.0.1:{port}", kafka_heap="512m",
    )  # fmt: skip
    stack = Stack(settings, ("kafka",))
    stack.up()
    service = stack.services[0]
    assert isinstance(service, KafkaService)
    try:
        declare_topics(service.secrets.client_settings(settings, "admin"))
        yield settings, service.secrets
    finally:
        stack.down()


def _as(secure: tuple[Settings, LocalSecrets], principal: str) -> Settings:
    settings, secrets = secure
    return secrets.client_settings(settings, principal)


def _env(secure: tuple[Settings, LocalSecrets], principal: str) -> dict[str, str]:
    settings, secrets = secure
    return {**secrets.client_env(principal), "CONTROLFEED_STACK_SECURE": "false",
            "CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers}  # fmt: skip


def _refused(settings: Settings, topic: str) -> KafkaError:
    """The error a consumer of ``topic`` gets as ``settings``' principal (fails if none)."""
    reader = consumer(settings, "downstream-test", "test-secure", log_level=0)
    reader.subscribe([topic])
    try:
        for _ in range(40):
            msg = reader.poll(0.5)
            if msg is not None and msg.error() is not None:
                return msg.error()
    finally:
        reader.close()
    raise AssertionError(f"{settings.kafka_username} read {topic} without an error")


def test_the_sample_through_the_secured_broker_gives_the_labels(
    secure: tuple[Settings, LocalSecrets], tmp_path: Path
) -> None:
    settings, secrets = secure
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log, env=_env(secure, "worker"))
    try:
        replayed = run_cli("replay", "--no-progress", str(SAMPLE), settings=settings,
                           env=_env(secure, "producer"))  # fmt: skip
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        settle(_as(secure, "admin"), worker, log, timeout=120)
        downstream = _as(secure, "downstream")
        read = read_topic(downstream, settings.topic_alerts, group="downstream-test")
        alerts = [json.loads(m.value() or b"") for m in read]
        clean = {feed: read_topic(downstream, topic, group="downstream-test")
                 for feed, topic in settings.clean_topics().items()}  # fmt: skip
    finally:
        terminate(worker)

    assert_labelled(alerts, sample_labels(), f"worker log:\n{tail(log, 30)}")
    # The clean topics, as the downstream principal reads them (read_committed): each valid
    # event of the sample once, validated, versioned, keyed by its subject, no raw numbers.
    for feed, records in clean.items():
        events = [load_downstream(m.value() or b"") for m in records]
        assert sorted(e.event_id for e in events) == sorted(sample_event_ids()[feed]), feed
        assert {e.schema_version for e in events} == {CLEAN_SCHEMA_VERSION}
        for msg, event in zip(records, events, strict=True):
            assert msg.key() == downstream_key(event)
            assert not ID_NUMBER.search(msg.value() or b""), msg.value()
            assert not PHONE.search(msg.value() or b""), msg.value()
    broker_logs = "".join(f.read_text(errors="replace") for f in (secrets.home / "logs").iterdir()
                          if f.is_file())  # fmt: skip
    output = log.read_text() + replayed.stdout + replayed.stderr + broker_logs
    for principal in ("admin", "worker", "producer", "downstream", "console"):
        assert secrets.password(principal) not in output, principal


def test_each_principal_is_held_to_its_acls(secure: tuple[Settings, LocalSecrets]) -> None:
    settings = secure[0]
    downstream, producer = _as(secure, "downstream"), _as(secure, "producer")

    for topic in (settings.topic_checkpoint_scans, settings.topic_dead_letter):
        assert _refused(downstream, topic).code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert _refused(producer, settings.topic_checkpoint_scans).code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED,
    )  # fmt: skip
    visible = admin_client(downstream).list_topics(timeout=10).topics
    assert settings.topic_alerts in visible and settings.topic_checkpoint_scans not in visible


@pytest.mark.parametrize("client", ["plaintext", "tls without sasl", "wrong password"])
def test_a_client_without_valid_credentials_gets_nothing(
    secure: tuple[Settings, LocalSecrets], client: str, tmp_path: Path
) -> None:
    settings = secure[0]
    if client == "plaintext":
        attempt = settings
    elif client == "tls without sasl":
        attempt = _as(secure, "downstream").model_copy(update={"kafka_security_protocol": "SSL"})
    else:
        wrong = tmp_path / "wrong.password"
        wrong.write_text("not-the-password\n")
        attempt = _as(secure, "downstream").model_copy(update={"kafka_password_file": wrong})

    with pytest.raises(KafkaException):
        admin_client(attempt, log_level=0).list_topics(timeout=5)


def test_the_cli_shows_applies_and_points_at_the_credentials(
    secure: tuple[Settings, LocalSecrets],
) -> None:
    settings, secrets = secure
    base = {"CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "CONTROLFEED_DATA_DIR": str(settings.data_dir)}  # fmt: skip

    applied = run_cli("topics", "acls", "--apply", env={**base, **_env(secure, "admin")})
    refused = run_cli("topics", "acls", "--apply", env={**base, **_env(secure, "worker")})
    shown = run_cli("stack", "env", "downstream", env={**base, "CONTROLFEED_STACK_SECURE": "true"})

    assert applied.returncode == 0 and "ACLs applied" in applied.stdout, applied.stderr
    assert "User:downstream" in applied.stdout and "clean." in applied.stdout
    assert refused.returncode != 0 and "super user" in refused.stderr  # only admin may
    assert f"CONTROLFEED_KAFKA_PASSWORD_FILE={secrets.password_file('downstream')}" in shown.stdout
    for result in (applied, refused, shown):
        assert secrets.password("admin") not in result.stdout + result.stderr
        assert secrets.password("downstream") not in result.stdout + result.stderr
