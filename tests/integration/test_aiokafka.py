"""aiokafka 0.14 (Faust's client) against the real broker: admin, produce, consume, groups."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.settings import Settings
from tests.integration.conftest import TopicFactory


async def _consume(servers: str, topic: str, count: int, group: str | None) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(20):
            async for record in consumer:
                values.append(record.value)
                if len(values) == count:
                    break
        if group:
            await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def _produce(servers: str, topic: str, values: list[bytes], key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def test_idempotent_producer_and_group_consumer(
    settings: Settings, new_topic: TopicFactory
) -> None:
    topic = new_topic(partitions=3)
    servers = settings.kafka_bootstrap_servers
    sent = [f"scan-{i}".encode() for i in range(20)]

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        await _produce(servers, topic, sent)
        group = f"{topic}.g"
        first = await _consume(servers, topic, 20, group)
        await _produce(servers, topic, [b"late"])
        return first, await _consume(servers, topic, 1, group)

    first, after_commit = asyncio.run(scenario())

    assert sorted(first) == sorted(sent)
    assert after_commit == [b"late"]


def test_admin_creates_a_compacted_topic(settings: Settings, kafka_admin: object) -> None:
    servers = settings.kafka_bootstrap_servers
    topic = f"test.aiokafka-compacted-{uuid.uuid4().hex[:8]}"

    async def scenario() -> dict[str, str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        try:
            await admin.create_topics(
                [
                    NewTopic(
                        topic,
                        num_partitions=2,
                        replication_factor=1,
                        topic_configs={"cleanup.policy": "compact"},
                    )
                ]
            )
            await _produce(servers, topic, [b"medium", b"low"], key=b"510107")
            described = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic)]
            )
            return {entry[0]: entry[1] for entry in described[0].resources[0][4]}
        finally:
            await admin.delete_topics([topic])
            await admin.close()

    configs = asyncio.run(scenario())

    assert configs["cleanup.policy"] == "compact"
