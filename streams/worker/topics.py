"""The worker's topics: the pipeline's, plus its internal engine and state topics.

Called by ``controlfeed worker`` before its stages start (Kafka here creates
no topic by itself). The pipeline topics come from
``streams.kafka.topics.declare_topics``; the worker adds

- the engine topic: ``engine_partitions`` partitions, records kept
  ``engine_retention_hours`` (a restarted engine replays it from its last
  checkpoint, so it must outlive a few checkpoint intervals);
- the state topic: as many partitions, compacted (the engines' checkpoints,
  ``streams.worker.checkpoints``), with segments rolled hourly so compaction
  keeps it near one checkpoint per partition.

Existing topics are left as they are, but a state topic whose partition count
differs from the engine topic's is refused (checkpoints go to the partition
of their engine). Raises ``TopicsError`` when the broker cannot be reached or
refuses.
"""

from __future__ import annotations

from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from streams.kafka.clients import admin_client
from streams.kafka.topics import (
    TopicsError,
    create_topics,
    declare_topics,
    pipeline_topics,
    visible_topics,
)
from streams.settings import Settings

__all__ = ["declare_worker_topics", "internal_topics"]

_TIMEOUT = 15.0


def internal_topics(settings: Settings) -> list[NewTopic]:
    """The engine and state topics as the worker creates them."""
    partitions, replicas = settings.engine_partitions, settings.topic_replication_factor
    retention_ms = int(settings.engine_retention_hours * 3600 * 1000)
    return [
        NewTopic(
            settings.topic_engine, partitions, replicas, config={"retention.ms": str(retention_ms)}
        ),
        NewTopic(
            settings.topic_state,
            partitions,
            replicas,
            config={
                "cleanup.policy": "compact",
                "segment.ms": str(3600 * 1000),
                "min.cleanable.dirty.ratio": "0.1",
            },
        ),
    ]


def declare_worker_topics(settings: Settings) -> list[str]:
    """Create the pipeline topics and the internal ones where missing; the names created."""
    created = declare_topics(settings, timeout=_TIMEOUT)
    admin = admin_client(settings, log_level=2)
    wanted = internal_topics(settings)
    created += create_topics(
        admin, wanted, _TIMEOUT,
        hint="Check CONTROLFEED_ENGINE_PARTITIONS and the replication factor.",
    )  # fmt: skip
    meta = visible_topics(
        admin,
        settings,
        [*(s.name for s in pipeline_topics(settings)), *(t.topic for t in wanted)],
        _TIMEOUT,
    )
    counts = {t.topic: len(meta[t.topic].partitions) for t in wanted if t.topic in meta}
    if counts.get(settings.topic_state) != counts.get(settings.topic_engine):
        raise TopicsError(
            f"the state topic {settings.topic_state} has {counts.get(settings.topic_state)} "
            f"partitions and the engine topic {settings.topic_engine} "
            f"{counts.get(settings.topic_engine)}: they must be equal",
            hint="Delete the state topic (the engines then rebuild from the engine topic) or "
            "set CONTROLFEED_ENGINE_PARTITIONS to the engine topic's partition count.",
        )
    return sorted(created)
