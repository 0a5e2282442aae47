"""The one place Kafka clients are made: every consumer, producer and admin client.

Called by the worker's stages, the sink, replay, ``controlfeed alerts``, the
topic commands, the demo, the smoke pass, the benchmarks and the tests. Each
gets its librdkafka configuration from the settings here, so what every client
shares (the bootstrap servers, the client id, where librdkafka logs go, the
security settings) is written once. The pipeline's own paths use
confluent-kafka (librdkafka); ``faust_credentials`` gives the same security to
the Faust apps of ``streams.kafka.faust_app``; kafka-python is what ``docs/downstream.md``
shows downstream systems.

Security (``security_config``): ``CONTROLFEED_KAFKA_SECURITY_PROTOCOL`` and, for
SASL, the mechanism, the user and the password (or a file holding it, read each
time a client is made, so a rotated password is taken by the next client); for
TLS, the CA file; then ``CONTROLFEED_KAFKA_CLIENT_OPTIONS`` as given. The
password lives only in the config dict handed to librdkafka: never log a config
(``redacted`` shows one safely).

Every consumer made here reads with ``isolation.level=read_committed``: the
worker writes its topics in Kafka transactions, and a record of a transaction
that was aborted (a worker killed in the middle of one) must never be seen.
Offsets are never committed automatically: whoever reads commits what is
durable (``streams.kafka.commits``).

Nothing here connects: librdkafka connects on first use, so making a client
never fails for an unreachable broker; its calls do.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient

from streams.exceptions import ControlfeedError
from streams.settings import Settings, secret_from_file

if TYPE_CHECKING:
    import faust

__all__ = [
    "SESSION_TIMEOUT_S",
    "TRANSACTION_TIMEOUT_S",
    "admin_client",
    "consumer",
    "consumer_config",
    "faust_credentials",
    "kafka_password",
    "producer",
    "producer_config",
    "redacted",
    "security_config",
]

SESSION_TIMEOUT_S: Final = 10.0
"""Consumer session time-out: how soon a killed worker's partitions move to another."""
TRANSACTION_TIMEOUT_S: Final = 10.0
"""How long the broker lets a transaction stay open before it aborts it. A worker killed
in the middle of one blocks read_committed readers of what it wrote at most this long
(plus the broker's clean-up interval) unless it is restarted under the same name, which
aborts it at once."""

_log = logging.getLogger("controlfeed.kafka")
"""librdkafka's critical log lines and its client errors go to this logger."""
_ERROR_LOG_S: Final = 30.0


class _Errors:
    """librdkafka's error callback for one client: each kind of error logged at most every
    30 s (an unreachable broker is reported on every reconnect attempt otherwise)."""

    def __init__(self, client_id: str) -> None:
        self._client_id = client_id
        self._next: dict[int, float] = {}

    def __call__(self, err: KafkaError) -> None:
        now = time.monotonic()
        if now >= self._next.get(err.code(), 0.0):
            self._next[err.code()] = now + _ERROR_LOG_S
            log = _log.error if err.fatal() else _log.warning
            log("%s: %s (librdkafka retries; repeats of it muted for 30 s)",
                self._client_id, err.str())  # fmt: skip


_SECRET_KEYS: Final = ("sasl.password", "ssl.key.password", "ssl.keystore.password")


def kafka_password(settings: Settings) -> str:
    """The SASL password: the setting, else the file's first line; ``ControlfeedError``
    (naming the setting, never a password) when neither is there."""
    if settings.kafka_password is not None:
        return settings.kafka_password.get_secret_value()
    path = settings.kafka_password_file
    if path is None:
        raise ControlfeedError(
            f"Kafka security protocol {settings.kafka_security_protocol} needs a password "
            f"for user {settings.kafka_username!r}",
            hint="Set CONTROLFEED_KAFKA_PASSWORD_FILE to a file holding it "
            "(or CONTROLFEED_KAFKA_PASSWORD).",
        )
    password = secret_from_file(path, "Kafka password", "CONTROLFEED_KAFKA_PASSWORD_FILE")
    if not password:
        raise ControlfeedError(f"the Kafka password file {path} is empty",
                               hint="Write the password on its first line.")  # fmt: skip
    return password


def security_config(settings: Settings) -> dict[str, Any]:
    """The librdkafka security settings of every client (see the module docstring).

    Raises ``ControlfeedError`` when SASL is asked for without a user or password.
    """
    protocol = settings.kafka_security_protocol
    config: dict[str, Any] = {}
    if protocol != "PLAINTEXT":
        config["security.protocol"] = protocol.lower()
    if protocol.startswith("SASL_"):
        if not settings.kafka_username:
            raise ControlfeedError(
                f"Kafka security protocol {protocol} needs a user name",
                hint="Set CONTROLFEED_KAFKA_USERNAME (the principal, e.g. worker).",
            )
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_username
        config["sasl.password"] = kafka_password(settings)
    if protocol in ("SSL", "SASL_SSL") and settings.kafka_ca_file is not None:
        config["ssl.ca.location"] = str(settings.kafka_ca_file)
    config.update(settings.kafka_client_options)
    return config


def redacted(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with every secret replaced by ``***``: what may be shown or logged."""
    return {k: ("***" if k in _SECRET_KEYS else v) for k, v in config.items()}


def faust_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """The same security for a Faust (aiokafka) app: None for PLAINTEXT."""
    import faust  # only the Faust apps pay for importing it

    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = None
    if protocol in ("SSL", "SASL_SSL"):
        ca = None if settings.kafka_ca_file is None else str(settings.kafka_ca_file)
        context = ssl.create_default_context(cafile=ca)
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=settings.kafka_username, password=kafka_password(settings),
        mechanism=settings.kafka_sasl_mechanism, ssl_context=context,
    )  # fmt: skip


def _common(settings: Settings, client_id: str) -> dict[str, Any]:
    """What every client shares: where the cluster is, who we are, where logs go, and
    how it proves who it is (``security_config``)."""
    return {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "client.id": client_id,
        "logger": _log,
        "log_level": 2,  # critical only: errors come through error_cb, throttled
        "error_cb": _Errors(client_id),
        **security_config(settings),
    }


def consumer_config(
    settings: Settings, group: str, client_id: str, **overrides: Any
) -> dict[str, Any]:
    """The librdkafka settings of a consumer in ``group`` (see the module docstring).

    ``overrides`` replace single settings (e.g. ``{"fetch.wait.max.ms": 50}``);
    keys use librdkafka's dotted names passed as a dict: ``**{"a.b": 1}``.
    """
    return {
        **_common(settings, client_id),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "session.timeout.ms": int(SESSION_TIMEOUT_S * 1000),
        "heartbeat.interval.ms": int(SESSION_TIMEOUT_S * 1000 / 3),
        "enable.partition.eof": False,
        **overrides,
    }


def consumer(settings: Settings, group: str, client_id: str, **overrides: Any) -> Consumer:
    """A consumer of ``group`` (``consumer_config``); subscribe or assign it yourself."""
    return Consumer(consumer_config(settings, group, client_id, **overrides))


def producer_config(
    settings: Settings,
    client_id: str,
    transactional_id: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The librdkafka settings of an idempotent producer (``acks=all``).

    With ``transactional_id`` the producer is transactional
    (``streams.kafka.transactions``): its records become visible to
    read_committed readers only when the transaction commits.
    """
    config: dict[str, Any] = {
        **_common(settings, client_id),
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "queue.buffering.max.messages": 1_000_000,
        "compression.type": "none",  # measured faster than lz4 on loopback
    }
    if transactional_id is not None:
        config["transactional.id"] = transactional_id
        config["transaction.timeout.ms"] = int(TRANSACTION_TIMEOUT_S * 1000)
        # The commit flushes at once whatever lingers; until then batches grow. Measured
        # (202k events, 3 pairs): the broker's CPU per event halves (84 -> 41 us).
        config["linger.ms"] = settings.commit_interval_ms
    config.update(overrides)
    return config


def producer(
    settings: Settings,
    client_id: str,
    transactional_id: str | None = None,
    **overrides: Any,
) -> Producer:
    """A producer (``producer_config``); transactional with ``transactional_id``."""
    return Producer(producer_config(settings, client_id, transactional_id, **overrides))


def admin_client(
    settings: Settings, client_id: str = "controlfeed-admin", **overrides: Any
) -> AdminClient:
    """An admin client (topics, consumer group offsets)."""
    return AdminClient({**_common(settings, client_id), **overrides})
