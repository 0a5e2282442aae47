"""Declaring the pipeline's topics on the live broker: partitions, compaction, idempotence."""

from __future__ import annotations

import json

from streams.kafka.topics import declare_topics, describe_topics, missing_topics, pipeline_topics
from streams.settings import Settings
from tests.integration.helpers import run_cli


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
    before = run_cli("topics", "list", settings=mine)
    create = run_cli("topics", "create", settings=mine)
    after = run_cli("topics", "list", settings=mine)

    assert before.returncode == 1
    assert "controlfeed topics create" in before.stdout
    assert create.returncode == 0, create.stderr
    assert f"{len(pipeline_topics(mine))} created, 0 already there" in create.stdout
    assert after.returncode == 0
    assert mine.topic_venues in after.stdout and "compact" in after.stdout


def test_cli_list_json_says_what_is_missing_then_ok(mine: Settings) -> None:
    before = run_cli("topics", "list", "--json", settings=mine)
    declare_topics(mine)
    after = run_cli("topics", "list", "--json", settings=mine)

    assert before.returncode == 1 and after.returncode == 0, after.stderr
    assert {t["state"] for t in json.loads(before.stdout)} == {"missing"}
    topics = {t["role"]: t for t in json.loads(after.stdout)}
    assert {t["state"] for t in topics.values()} == {"ok"}
    assert topics["venue"]["cleanup_policy"] == "compact" and topics["venue"]["partitions"] == 3
