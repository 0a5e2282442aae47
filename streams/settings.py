"""The one settings object of controlfeed.

Built once at an entry point (the CLI, a test fixture, the Faust worker) from
``CONTROLFEED_*`` environment variables and passed down; no other module reads
the environment. Every field is documented in the README's configuration table,
and ``docker/compose.yaml`` uses the same variable names (a test checks it).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.clickhouse_urls import masked, url_problem
from streams.exceptions import ControlfeedError

__all__ = ["CHECKOUT", "PROJECT_ROOT", "Settings", "secret_from_file", "unknown_variables"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The folder the package's modules sit in: a source checkout (``docker/``, the sample
data), or ``site-packages`` when installed from a wheel."""
CHECKOUT: Path | None = PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").is_file() else None
"""The source checkout this package runs from (an editable install, the tests); None when
installed from a wheel, which has no ``docker/`` and no sample data."""


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "controlfeed"


def _default_data_dir() -> Path:
    """``.stack`` in a checkout (the README and the tests use it); else the user's data
    folder: ``$XDG_DATA_HOME/controlfeed``, by default ``~/.local/share/controlfeed``."""
    if CHECKOUT is not None:
        return CHECKOUT / ".stack"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "controlfeed"


class Settings(BaseSettings):
    """Where the services are and where the local stack keeps its files.

    Ports are those of the local stack (``controlfeed stack``); the Kafka client
    address defaults to that stack and can point anywhere else instead.
    """

    model_config = SettingsConfigDict(env_prefix="CONTROLFEED_", extra="ignore")

    kafka_bootstrap_servers: str = ""
    """Kafka bootstrap servers, comma separated; default ``127.0.0.1:<kafka_port>``."""
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    """Port of the local broker's client listener."""
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    """Port of the local broker's KRaft controller listener."""
    kafka_heap: str = "1g"
    """JVM heap of the local broker (-Xms and -Xmx); 1 GB suits a 2-core / 24 GB machine."""
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """How every Kafka client of controlfeed talks to the brokers (``SASL_SSL`` in
    production: SCRAM over TLS)."""
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    """SASL mechanism with ``SASL_*`` protocols."""
    kafka_username: str = ""
    """SASL user name (the principal: ``worker``, ``producer``, ``console``, ...)."""
    kafka_password: SecretStr | None = None
    """SASL password; never logged."""
    kafka_password_file: Path | None = None
    """File holding the SASL password (used when ``kafka_password`` is unset)."""
    kafka_ca_file: Path | None = None
    """PEM file of the CA that signed the brokers' certificates (``SSL``, ``SASL_SSL``)."""
    kafka_client_options: dict[str, str] = Field(default_factory=dict)
    """Further librdkafka options for every client, as a JSON object, e.g.
    ``{"ssl.endpoint.identification.algorithm": "none"}``."""
    stack_secure: bool = False
    """Whether ``controlfeed stack`` runs the local broker with SASL_SSL and ACLs (a local
    CA, a SCRAM user and ACLs per principal; ``docs/security.md``)."""

    clickhouse_url: str = ""
    """ClickHouse native-protocol URL of the pipeline's store, as the user that writes
    (the sink), e.g. ``clickhouse://controlfeed_writer@127.0.0.1:9000/default``; TLS by
    ``?secure=True&ca_certs=...``; empty means not configured (chDB)."""
    clickhouse_password_file: Path | None = None
    """File holding the password of ``clickhouse_url``'s user, when the URL holds none."""
    clickhouse_read_url: str = ""
    """URL of a read-only user, for ``controlfeed query`` and the console; empty: the
    ``clickhouse_url``."""
    clickhouse_read_password_file: Path | None = None
    """File holding the password of ``clickhouse_read_url``'s user."""
    sink_enabled: bool = True
    """Whether the worker stores events, alerts and dead letters (``streams.sink``)."""
    sink_batch_rows: int = Field(default=100_000, ge=1)
    """Rows that make the sink flush a batch; also its backpressure bound during an outage."""
    sink_batch_seconds: float = Field(default=1.0, gt=0)
    """Seconds the oldest row waits at most before the sink flushes."""
    sink_writers: int = Field(default=2, ge=1, le=8)
    """Batches a ClickHouse server stores at once, each on its own connection, while the
    sink reads the next (chDB, in-process, always stores one at a time)."""
    sink_retry_max_seconds: float = Field(default=30.0, ge=0.5)
    """Longest wait between two store attempts while ClickHouse fails (0.5 s, doubling)."""
    retention_days: int = Field(default=28, ge=1)
    """Days of events, alerts and dead letters kept in the store (today included)."""
    clickhouse_tcp_port: int = Field(default=9000, ge=1, le=65535)
    """Native-protocol port of the local ClickHouse server."""
    clickhouse_http_port: int = Field(default=8123, ge=1, le=65535)
    """HTTP port of the local ClickHouse server."""

    prometheus_port: int = Field(default=9090, ge=1, le=65535)
    """Port of the local Prometheus server (web UI and HTTP API)."""
    alertmanager_port: int = Field(default=9094, ge=1, le=65535)
    """Port of the local Alertmanager (web UI and HTTP API); Prometheus sends it the
    pipeline's alerting rules (9093, its usual port, is the local broker's controller)."""
    metrics_port: int = Field(default=9308, ge=1, le=65535)
    """Port where the worker serves ``/metrics``; Prometheus scrapes it."""
    metrics_host: str = "127.0.0.1"
    """Address the worker serves ``/metrics`` on: loopback by default; ``0.0.0.0`` in a
    container, where Prometheus scrapes it from another one."""

    topic_checkpoint_scans: str = "feeds.checkpoint-scans"
    """Topic of the ``checkpoint_scan`` feed."""
    topic_venue_scans: str = "feeds.venue-scans"
    """Topic of the ``venue_scan`` feed."""
    topic_patrol_events: str = "feeds.patrol-events"
    """Topic of the ``patrol_event`` feed."""
    topic_risk_areas: str = "ref.risk-areas"
    """Compacted topic of the ``risk_area`` reference feed, keyed by ``area_code``."""
    topic_venues: str = "ref.venues"
    """Compacted topic of the ``venue`` reference feed, keyed by ``venue_id``."""
    topic_alerts: str = "alerts"
    """Output topic of alerts."""
    topic_dead_letter: str = "feeds.dead-letter"
    """Output topic of bad input, with the reason and source coordinates in headers."""
    topic_clean_checkpoint_scans: str = "clean.checkpoint-scans"
    """Clean topic of ``checkpoint_scan`` for downstream readers (``schemas.downstream``)."""
    topic_clean_venue_scans: str = "clean.venue-scans"
    """Clean topic of ``venue_scan`` for downstream readers."""
    topic_clean_patrol_events: str = "clean.patrol-events"
    """Clean topic of ``patrol_event`` for downstream readers."""
    topic_alert_state: str = "alerts.state"
    """Compacted topic of the alerts' handling (``schemas.alert_state``), keyed by
    ``alert_id``: written by the console, followed by downstream systems and the sink."""
    topic_engine: str = "controlfeed.engine"
    """Internal topic from the worker's ingest stage to its rules engines (``docs/worker.md``)."""
    topic_partitions: int = Field(default=6, ge=1)
    """Partitions of every topic ``controlfeed topics create`` declares."""
    topic_replication_factor: int = Field(default=1, ge=1)
    """Replication factor of those topics; 1 suits the single local broker."""

    topic_state: str = "controlfeed.state"
    """The worker's internal, compacted topic of engine checkpoints (``docs/worker.md``)."""
    engine_partitions: int = Field(default=6, ge=1)
    """Partitions of the engine topic (and of the state topic): one ``rules.Engine`` each."""
    engine_retention_hours: float = Field(default=24.0, gt=0)
    """How long the engine topic keeps records; must exceed the checkpoint interval."""
    checkpoint_interval_s: float = Field(default=60.0, ge=1)
    """Seconds between two checkpoints of an engine partition's state (while it changes)."""
    commit_interval_ms: int = Field(default=100, ge=10, le=5000)
    """Longest time records wait in an open Kafka transaction before it is committed: what
    downstream readers (read_committed) wait at most, per stage, for a record."""
    worker_group: str = "controlfeed-worker"
    """Consumer group of ``controlfeed worker``; workers sharing it share the work."""
    worker_processes: int = Field(default=1, ge=1, le=64)
    """Worker processes ``controlfeed worker`` runs in its group (``--processes``): about
    one core each; ``docs/worker.md`` says how many a machine wants."""
    worker_id: str = ""
    """This worker's name in its group, stable across restarts (its transactional ids);
    default ``<hostname>-<n>``, ``n`` the lowest number no other worker of the group on
    this host holds."""
    pseudonym_key: SecretStr | None = None
    """Secret HMAC key that turns ID numbers into ``person_key``; never logged or stored."""
    pseudonym_key_file: Path | None = None
    """File holding the pseudonym key (used when ``pseudonym_key`` is unset)."""
    rules_file: Path | None = None
    """TOML file of rule thresholds and places laid over ``rules/defaults.toml``."""

    console_host: str = "127.0.0.1"
    """Address ``controlfeed console`` listens on; anything but loopback needs TLS."""
    console_port: int = Field(default=8080, ge=1, le=65535)
    """Port of ``controlfeed console``."""
    console_users_file: Path | None = None
    """The console's users (JSON, argon2 hashes); default ``<data_dir>/console/users.json``."""
    console_tls_cert: Path | None = None
    """TLS certificate (PEM) of the console; with ``console_tls_key``, it serves HTTPS."""
    console_tls_key: Path | None = None
    """TLS private key (PEM) of the console."""

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Data, logs and pid files of the local stack, one folder per service, and chDB's
    store; ``.stack`` in a checkout, else ``$XDG_DATA_HOME/controlfeed`` (by default
    ``~/.local/share/controlfeed``)."""
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    """Downloads kept across checkouts (the Kafka release), outside the work tree."""

    @model_validator(mode="after")
    def _derive_bootstrap(self) -> Settings:
        if not self.kafka_bootstrap_servers:
            self.kafka_bootstrap_servers = f"127.0.0.1:{self.kafka_port}"
        return self

    @model_validator(mode="after")
    def _clickhouse_urls_are_native(self) -> Settings:
        for name in ("clickhouse_url", "clickhouse_read_url"):
            problem = url_problem(getattr(self, name), self.clickhouse_http_port)
            if problem is not None:
                raise ValueError(f"CONTROLFEED_{name.upper()}: {problem}")
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Fields as ``repr`` shows them: a URL's password masked (``SecretStr`` masks the
        others)."""
        for name, value in super().__repr_args__():
            urls = ("clickhouse_url", "clickhouse_read_url")
            yield name, masked(value) if name in urls and isinstance(value, str) else value

    @model_validator(mode="after")
    def _retention_covers_checkpoints(self) -> Settings:
        if self.engine_retention_hours * 3600 <= 2 * self.checkpoint_interval_s:
            raise ValueError(
                "CONTROLFEED_ENGINE_RETENTION_HOURS must keep the engine topic for more than "
                "twice CONTROLFEED_CHECKPOINT_INTERVAL_S (a restart replays from the last "
                "checkpoint)"
            )
        return self

    def feed_topics(self) -> dict[str, str]:
        """The topic of each input feed, by feed name (``checkpoint_scan`` ...)."""
        return {
            "checkpoint_scan": self.topic_checkpoint_scans,
            "venue_scan": self.topic_venue_scans,
            "patrol_event": self.topic_patrol_events,
            "risk_area": self.topic_risk_areas,
            "venue": self.topic_venues,
        }

    def clean_topics(self) -> dict[str, str]:
        """The clean topic of each live feed, by feed name (``schemas.downstream``)."""
        return {
            "checkpoint_scan": self.topic_clean_checkpoint_scans,
            "venue_scan": self.topic_clean_venue_scans,
            "patrol_event": self.topic_clean_patrol_events,
        }

    def topic_fields(self) -> list[str]:
        """The names of the settings that name a topic (``topic_alerts`` ...)."""
        counts = ("topic_partitions", "topic_replication_factor")
        return [f for f in type(self).model_fields if f.startswith("topic_") and f not in counts]

    def to_env(self) -> dict[str, str]:
        """``CONTROLFEED_*`` variables that rebuild these settings in a child process.

        Called by commands that start other controlfeed processes (the demo's
        worker). Unset optional settings are left out; a set secret is passed
        as its value, so keep the result away from logs.
        """
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, dict):
                value = json.dumps(value)
            env[f"CONTROLFEED_{name.upper()}"] = str(value)
        return env

    @property
    def stack_clickhouse_url(self) -> str:
        """Native-protocol URL of the local stack's ClickHouse server."""
        return f"clickhouse://127.0.0.1:{self.clickhouse_tcp_port}/default"

    @property
    def alertmanager_url(self) -> str:
        """Base URL of the local Alertmanager's HTTP API."""
        return f"http://127.0.0.1:{self.alertmanager_port}"

    @property
    def prometheus_url(self) -> str:
        """Base URL of the local Prometheus server's HTTP API."""
        return f"http://127.0.0.1:{self.prometheus_port}"


def secret_from_file(path: Path, what: str, setting: str) -> str:
    """The first line of a secret's file (``what``: "Kafka password", ...), stripped;
    ``""`` for an empty file. Read when a client is made, so a rotated secret is taken
    by the next one. Raises ``ControlfeedError`` naming the file and ``setting``."""
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise ControlfeedError(
            f"cannot read the {what} file {path}: {err.strerror}",
            hint=f"Check {setting} and the file's permissions.",
        ) from None
    return lines[0].strip() if lines else ""


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[tuple[str, str | None]]:
    """Each ``CONTROLFEED_*`` variable of the environment that names no setting, with the
    nearest valid name (None when none is close).

    Called by the CLI at start-up, which warns once about each: pydantic-settings
    ignores such a variable, so a typo would silently keep the default.
    """
    env = os.environ if environ is None else environ
    known = [name.upper() for name in Settings.model_fields]
    found = []
    for name in sorted(env):
        prefix, _, rest = name.upper().partition("_")
        if prefix == "CONTROLFEED" and rest not in known:
            near = difflib.get_close_matches(rest, known, n=1, cutoff=0.6)
            found.append((name, f"CONTROLFEED_{near[0]}" if near else None))
    return found
