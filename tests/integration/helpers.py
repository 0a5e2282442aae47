"""Helpers shared by the integration tests: the CLI as a user runs it, own topics, read-back."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from confluent_kafka import Consumer, TopicPartition

from streams.settings import Settings

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, settings: Settings | None = None
) -> subprocess.CompletedProcess[str]:
    """``controlfeed ARGS`` in a subprocess, wide output, with ``settings``' topics if given."""
    topics = topic_env(settings) if settings is not None else {}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "COLUMNS": "200", **topics, **(env or {})},
    )  # fmt: skip


FIELDS = [
    name
    for name in Settings.model_fields
    if name.startswith("topic_") and "partitions" not in name and "replication" not in name
]


def own_topics(settings: Settings, partitions: int = 3) -> Settings:
    """``settings`` with topic names no other test uses."""
    tag = uuid.uuid4().hex[:8]
    update: dict[str, object] = {f: f"test.{f}.{tag}" for f in FIELDS}
    update["topic_partitions"] = partitions
    return settings.model_copy(update=update)


def topic_env(settings: Settings) -> dict[str, str]:
    """The CONTROLFEED_* variables that give a CLI process these topic settings."""
    names = [*FIELDS, "topic_partitions", "kafka_bootstrap_servers"]
    return {f"CONTROLFEED_{n.upper()}": str(getattr(settings, n)) for n in names}


def read_back(settings: Settings, topics: list[str]) -> list[tuple[str, bytes, bytes]]:
    """Every record now in ``topics`` as (topic, key, value), read up to the end offsets."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": "unused",
            "enable.auto.commit": False,
        }
    )
    parts, ends = [], {}
    for topic in topics:
        for p in range(settings.topic_partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                parts.append(TopicPartition(topic, p, low))
                ends[(topic, p)] = high
    consumer.assign(parts)
    records, left = [], sum(ends[k] - tp.offset for k, tp in zip(ends, parts, strict=True))
    while left:
        msg = consumer.poll(10)
        assert msg is not None, f"{left} records never came back"
        records.append((msg.topic() or "", msg.key() or b"", msg.value() or b""))
        left -= 1
    consumer.close()
    return records
