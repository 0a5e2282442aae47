"""kafka-python 3.x against the real broker: produce, consume, groups, topics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaTimeoutError

from streams.devtools.stack import Stack
from streams.settings import Settings
from tests.integration.conftest import TopicFactory


@pytest.fixture
def kp_admin(stack: Stack, settings: Settings) -> Iterator[KafkaAdminClient]:
    """kafka-python's own admin client on the stack's broker."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    yield admin
    admin.close()


def _consume(settings: Settings, topic: str, count: int, group: str | None = None) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=15_000,
    )
    values: list[bytes] = []
    for record in consumer:
        values.append(record.value)
        if len(values) == count:
            break
    if group:
        consumer.commit()
    consumer.close()
    return values


def test_records_round_trip_over_three_partitions(
    settings: Settings, new_topic: TopicFactory
) -> None:
    topic = new_topic(partitions=3)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    for i in range(30):
        producer.send(topic, key=f"person-{i % 4}".encode(), value=f"scan-{i}".encode())
    producer.flush()
    producer.close()

    values = _consume(settings, topic, 30)

    assert sorted(values) == sorted(f"scan-{i}".encode() for i in range(30))


def test_a_group_resumes_after_its_committed_offset(
    settings: Settings, new_topic: TopicFactory
) -> None:
    topic = new_topic()
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    for i in range(10):
        producer.send(topic, value=f"e{i}".encode())
    producer.flush()
    producer.close()

    first = _consume(settings, topic, 4, group=f"{topic}.g")
    rest = _consume(settings, topic, 6, group=f"{topic}.g")

    assert first == [f"e{i}".encode() for i in range(4)]
    assert rest == [f"e{i}".encode() for i in range(4, 10)]


def test_compacted_topic_keeps_its_policy_and_latest_value(
    settings: Settings, new_topic: TopicFactory, kp_admin: KafkaAdminClient
) -> None:
    topic = new_topic(config={"cleanup.policy": "compact"})
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    for level in (b"medium", b"high", b"low"):
        producer.send(topic, key=b"510107", value=level)
    producer.flush()
    producer.close()

    described = kp_admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    assert described["topic"][topic]["cleanup.policy"]["value"] == "compact"
    assert _consume(settings, topic, 3)[-1] == b"low"


def test_the_broker_creates_no_topic_on_its_own(
    settings: Settings, kp_admin: KafkaAdminClient
) -> None:
    topic = "test.never-declared"
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, max_block_ms=2000)
    with pytest.raises(KafkaTimeoutError):
        producer.send(topic, value=b"x").get(timeout=5)
    producer.close()

    assert topic not in kp_admin.list_topics()


def test_end_offsets_count_every_record(settings: Settings, new_topic: TopicFactory) -> None:
    topic = new_topic(partitions=2)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    for i in range(7):
        producer.send(topic, value=b"v", partition=i % 2)
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)

    ends = consumer.end_offsets([TopicPartition(topic, 0), TopicPartition(topic, 1)])
    consumer.close()

    assert sorted(ends.values()) == [3, 4]
