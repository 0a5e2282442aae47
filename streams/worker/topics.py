"""The worker's topics: the pipeline's, plus its internal engine topic.

Called by ``controlfeed worker`` before the Faust app starts (Kafka here
creates no topic by itself). The pipeline topics come from
``streams.topics.declare_topics``; the engine topic gets
``settings.engine_partitions`` partitions and is not compacted (engines are
rebuilt by re-reading it, ``docs/worker.md``). Existing topics are left as
they are. Raises ``TopicsError`` when the broker cannot be reached or refuses.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from streams.settings import Settings
from streams.topics import TopicsError, declare_topics

__all__ = ["declare_worker_topics"]

_TIMEOUT = 15.0


def declare_worker_topics(settings: Settings) -> list[str]:
    """Create the pipeline topics and the engine topic where missing; the names created."""
    created = declare_topics(settings, timeout=_TIMEOUT)
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers, "log_level": 2})
    topic = NewTopic(
        settings.topic_engine, settings.engine_partitions, settings.topic_replication_factor
    )
    futures = admin.create_topics([topic], operation_timeout=_TIMEOUT, request_timeout=_TIMEOUT)
    try:
        futures[settings.topic_engine].result()
        created.append(settings.topic_engine)
    except KafkaException as err:
        if err.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise TopicsError(
                f"Kafka refused to create topic {settings.topic_engine}: {err.args[0].str()}",
                hint="Check CONTROLFEED_ENGINE_PARTITIONS and the replication factor.",
            ) from err
    return sorted(created)
