"""Declaring the pipeline's topics on the live broker: partitions, compaction, idempotence."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient

from streams.settings import Settings
from streams.topics import declare_topics, describe_topics, missing_topics, pipeline_topics

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]
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


@pytest.fixture
def mine(settings: Settings, kafka_admin: KafkaAdminClient) -> Iterator[Settings]:
    """Settings with this test's own topic names; whatever was created is deleted after."""
    own = own_topics(settings)
    yield own
    names = [s.name for s in pipeline_topics(own)]
    leftovers = [n for n in names if n in set(kafka_admin.list_topics())]
    if leftovers:
        kafka_admin.delete_topics(leftovers)


def test_declare_creates_every_topic_with_partitions_and_compaction(mine: Settings) -> None:
    created = declare_topics(mine)

    states = {s.spec.role: s for s in describe_topics(mine)}
    assert sorted(created) == sorted(s.spec.name for s in states.values())
    assert {s.partitions for s in states.values()} == {3}
    assert states["risk_area"].cleanup_policy == states["venue"].cleanup_policy == "compact"
    assert states["checkpoint_scan"].cleanup_policy == "delete"
    assert all(s.verdict == "ok" for s in states.values())


def test_declare_twice_creates_nothing_the_second_time(mine: Settings) -> None:
    declare_topics(mine)

    assert declare_topics(mine) == []
    assert missing_topics(mine, [mine.topic_alerts, "test.no-such-topic"]) == ["test.no-such-topic"]


def test_cli_create_then_list(mine: Settings) -> None:
    env = {**os.environ, "COLUMNS": "200", **topic_env(mine)}
    run = [*CLI, "topics"]

    before = subprocess.run([*run, "list"], capture_output=True, text=True, env=env, check=False)
    create = subprocess.run([*run, "create"], capture_output=True, text=True, env=env, check=False)
    after = subprocess.run([*run, "list"], capture_output=True, text=True, env=env, check=False)

    assert before.returncode == 1
    assert "controlfeed topics create" in before.stdout
    assert create.returncode == 0, create.stderr
    assert "7 created, 0 already there" in create.stdout
    assert after.returncode == 0
    assert mine.topic_venues in after.stdout and "compact" in after.stdout
