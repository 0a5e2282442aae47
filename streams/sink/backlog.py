"""``sink_backlog``: how many records the sink has read but not yet stored and committed.

Called by ``controlfeed demo`` and the sink's integration tests to wait until
everything a run produced is in the store. The sink commits an offset only
after the rows before it are stored (``streams.sink.service``), so a backlog
of 0 means every record of its four topics is stored. The records after the
group's committed offsets are counted by reading them (``streams.kafka.read``):
offsets also number the control records that end each transaction. Raises
``confluent_kafka.KafkaException`` when the broker does not answer.
"""

from __future__ import annotations

from confluent_kafka import TopicPartition

from streams.kafka.clients import consumer
from streams.kafka.read import partitions_of, records_after
from streams.settings import Settings

__all__ = ["sink_backlog"]


def _sink_topics(settings: Settings) -> tuple[str, ...]:
    """The topics the sink stores (``streams.sink.service.SinkService`` reads the same)."""
    return (settings.topic_engine, settings.topic_alerts, settings.topic_dead_letter,
            settings.topic_alert_state)  # fmt: skip


def sink_backlog(settings: Settings) -> int:
    """Committed records of the engine, alerts, dead-letter and alert-state topics after the sink
    group's committed offsets (a partition with no commit counts from its first record)."""
    group = consumer(settings, f"{settings.worker_group}-sink", "controlfeed-backlog")
    try:
        parts = [
            TopicPartition(topic, p)
            for topic in _sink_topics(settings)
            for p in partitions_of(group, topic)
        ]
        committed = group.committed(parts, timeout=10) if parts else []
    finally:
        group.close()
    after = {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None for tp in committed}
    return len(records_after(settings, after))
