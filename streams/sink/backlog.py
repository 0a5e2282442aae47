"""``sink_backlog``: how many records the sink has read but not yet stored and committed.

Called by ``controlfeed demo`` and the sink's integration tests to wait until
everything a run produced is in the store. The sink commits an offset only
after the rows before it are stored (``streams.sink.service``), so a backlog
of 0 means every record of its three topics is stored. Raises
``confluent_kafka.KafkaException`` when the broker does not answer.
"""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition

from streams.settings import Settings

__all__ = ["sink_backlog"]


def sink_backlog(settings: Settings) -> int:
    """Records of the engine, alerts and dead-letter topics the sink group has not
    committed (a partition with no commit counts from its first record)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"{settings.worker_group}-sink",
            "enable.auto.commit": False,
        }
    )
    try:
        parts = []
        for topic in (settings.topic_engine, settings.topic_alerts, settings.topic_dead_letter):
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            parts += [TopicPartition(topic, p) for p in meta.partitions]
        backlog = 0
        for tp in consumer.committed(parts, timeout=10):
            low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), 10)
            backlog += high - max(tp.offset, low)
        return backlog
    finally:
        consumer.close()
