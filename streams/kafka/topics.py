"""The pipeline's Kafka topics, declared by us because the broker creates none.

Called by ``controlfeed topics create`` (and ``replay --create-topics``, the
benchmark, the tests) before anything produces or consumes; ``topics list``
shows what the broker has. The five feed topics, ``alerts`` and the dead
letters all get ``settings.topic_partitions`` partitions (equal counts keep
Faust's tables co-partitioned with their streams); the two reference topics
are compacted, so the latest record per key (``area_code``, ``venue_id``) is
kept for ever. Declaring is idempotent: a topic that exists is left exactly as
it is, never altered or recreated; ``topics list`` shows where it differs.

A broker that cannot be reached raises ``TopicsError`` naming the address.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException

# confluent_kafka.admin re-exports these public names without an __all__, which
# strict mypy does not follow.
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from streams.exceptions import ControlfeedError
from streams.kafka.clients import admin_client
from streams.settings import Settings

__all__ = [
    "TopicSpec",
    "TopicState",
    "TopicsError",
    "create_topics",
    "declare_topics",
    "describe_topics",
    "missing_topics",
    "pipeline_topics",
    "visible_topics",
]

_COMPACT = {"cleanup.policy": "compact"}
_TIMEOUT = 15.0


class TopicsError(ControlfeedError):
    """The broker could not be reached, or refused to create or describe a topic."""


@dataclass(frozen=True)
class TopicSpec:
    """One topic the pipeline needs, as ``declare_topics`` would create it."""

    role: str
    """What the topic carries: a feed name, ``alerts``, ``alert_state`` or ``dead_letter``."""
    name: str
    """The topic name, from the settings."""
    partitions: int
    """Partition count at creation."""
    replication: int
    """Replication factor at creation."""
    config: dict[str, str] = field(default_factory=dict)
    """Topic configs at creation, e.g. ``cleanup.policy=compact``."""

    @property
    def cleanup_policy(self) -> str:
        """The ``cleanup.policy`` this topic should have."""
        return self.config.get("cleanup.policy", "delete")


@dataclass(frozen=True)
class TopicState:
    """A declared topic as the broker has it (``partitions`` None: it does not exist)."""

    spec: TopicSpec
    """What the pipeline wants."""
    partitions: int | None
    """Partitions on the broker; None when the topic is missing."""
    cleanup_policy: str | None
    """``cleanup.policy`` on the broker; None when missing."""

    @property
    def verdict(self) -> str:
        """``ok``, ``missing``, or what differs from the spec (e.g. ``3 partitions``)."""
        if self.partitions is None:
            return "missing"
        diffs = []
        if self.partitions != self.spec.partitions:
            diffs.append(f"{self.partitions} partitions, want {self.spec.partitions}")
        if self.cleanup_policy != self.spec.cleanup_policy:
            diffs.append(f"cleanup.policy={self.cleanup_policy}, want {self.spec.cleanup_policy}")
        return "; ".join(diffs) or "ok"


def pipeline_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic of the pipeline with the partitions, replication and configs it needs."""
    compacted = {settings.topic_risk_areas, settings.topic_venues, settings.topic_alert_state}
    roles = {**settings.feed_topics(), "alerts": settings.topic_alerts}
    roles["alert_state"] = settings.topic_alert_state
    roles["dead_letter"] = settings.topic_dead_letter
    roles.update({f"clean_{feed}": name for feed, name in settings.clean_topics().items()})
    return [
        TopicSpec(
            role=role,
            name=name,
            partitions=settings.topic_partitions,
            replication=settings.topic_replication_factor,
            config=dict(_COMPACT) if name in compacted else {},
        )
        for role, name in roles.items()
    ]


def _admin(settings: Settings) -> AdminClient:
    # log_level 2: connection failures become TopicsError, not stderr noise
    return admin_client(settings, "controlfeed-topics", log_level=2)


def _unreachable(settings: Settings, err: KafkaException) -> TopicsError:
    return TopicsError(
        f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {err}",
        hint="Start the local stack with `controlfeed stack up`, or set "
        "CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS to a running broker.",
    )


def _existing(admin: AdminClient, settings: Settings, timeout: float) -> dict[str, int]:
    """Partition count of every topic on the broker, by name."""
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as err:
        raise _unreachable(settings, err) from err
    return {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}


def visible_topics(
    admin: AdminClient, settings: Settings, names: Collection[str], timeout: float = _TIMEOUT
) -> dict[str, Any]:
    """The broker's topic metadata once it shows every one of ``names`` with its
    partitions, or as it is after ``timeout`` seconds.

    A topic just created takes a moment to reach the metadata: a reader of the
    metadata right after the creation can see it missing, and a consumer
    subscribing then is left without its partitions until its next metadata
    refresh (minutes). Called by ``declare_topics`` for what it created and by
    the worker before its stages start. Raises ``TopicsError`` when the broker
    cannot be reached.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            topics = admin.list_topics(timeout=timeout).topics
        except KafkaException as err:
            raise _unreachable(settings, err) from err
        missing = [n for n in names if n not in topics or not topics[n].partitions]
        if not missing or time.monotonic() > deadline:
            return dict(topics)
        time.sleep(0.2)


def missing_topics(settings: Settings, names: list[str], timeout: float = _TIMEOUT) -> list[str]:
    """Those of ``names`` the broker lacks; raises ``TopicsError`` if it cannot be reached.

    Called by ``replay`` before it sends, so a missing topic is a message, not
    a delivery time-out per record.
    """
    existing = _existing(_admin(settings), settings, timeout)
    return [name for name in names if name not in existing]


def create_topics(
    admin: AdminClient,
    new: list[NewTopic],
    timeout: float,
    *,
    hint: str,
    denied_hint: str | None = None,
) -> list[str]:
    """Create ``new`` on the broker; the names created (one that exists already is not).

    Used by ``declare_topics`` and the worker's internal topics. "Already
    exists" counts as there (two callers may race); any other refusal raises
    ``TopicsError`` with ``hint``, or ``denied_hint`` when given and the
    principal may not create topics.
    """
    futures = admin.create_topics(new, operation_timeout=timeout, request_timeout=timeout)
    created: list[str] = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as err:
            code = err.args[0].code()
            if code != KafkaError.TOPIC_ALREADY_EXISTS:
                denied = code == KafkaError.TOPIC_AUTHORIZATION_FAILED
                raise TopicsError(
                    f"Kafka refused to create topic {name}: {err.args[0].str()}",
                    hint=denied_hint if denied and denied_hint is not None else hint,
                ) from err
    return created


def declare_topics(
    settings: Settings, timeout: float = _TIMEOUT, only: Collection[str] | None = None
) -> list[str]:
    """Create every pipeline topic (or those named in ``only``) that does not exist yet;
    return the names created.

    Idempotent: existing topics are left as they are (also when two callers
    race, the loser sees "already exists" and counts it as there). Returns once
    the broker's metadata shows what it created (``visible_topics``). Raises
    ``TopicsError`` when the broker cannot be reached or refuses a creation,
    e.g. a replication factor above the number of brokers, or a principal
    without the right to create it (on a secured broker a principal sees only
    the topics it may use: ``only`` keeps it to those).
    """
    admin = _admin(settings)
    existing = _existing(admin, settings, timeout)
    wanted = [
        spec
        for spec in pipeline_topics(settings)
        if spec.name not in existing and (only is None or spec.name in only)
    ]
    if not wanted:
        return []
    new = [NewTopic(s.name, s.partitions, s.replication, config=s.config) for s in wanted]
    created = create_topics(
        admin, new, timeout,
        hint="Check CONTROLFEED_TOPIC_PARTITIONS and CONTROLFEED_TOPIC_REPLICATION_FACTOR "
        "against the cluster.",
        denied_hint="Create the topics as the admin principal (`controlfeed topics create` "
        "with CONTROLFEED_KAFKA_USERNAME=admin).",
    )  # fmt: skip
    if created:  # none when another caller won every race: nothing new to wait for
        visible_topics(admin, settings, created, timeout)
    return sorted(created)


def describe_topics(settings: Settings, timeout: float = _TIMEOUT) -> list[TopicState]:
    """Each pipeline topic with its partitions and ``cleanup.policy`` on the broker."""
    admin = _admin(settings)
    existing = _existing(admin, settings, timeout)
    specs = pipeline_topics(settings)
    present = [s.name for s in specs if s.name in existing]
    policies: dict[str, str] = {}
    if present:
        resources = [ConfigResource(ResourceType.TOPIC, name) for name in present]
        for resource, future in admin.describe_configs(resources, request_timeout=timeout).items():
            try:
                entries = future.result()
            except KafkaException as err:
                raise _unreachable(settings, err) from err
            policies[resource.name] = entries["cleanup.policy"].value or "delete"
    return [TopicState(spec, existing.get(spec.name), policies.get(spec.name)) for spec in specs]
