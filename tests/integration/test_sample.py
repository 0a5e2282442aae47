"""The checked-in sample scenario through validate and replay, against its labels."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient

from streams.replay.routing import Router
from streams.settings import PROJECT_ROOT, Settings
from streams.topics import declare_topics, pipeline_topics
from tests.integration.test_replay import read_back, replay
from tests.integration.test_stack_cli import _run
from tests.integration.test_topics import own_topics

SAMPLE = PROJECT_ROOT / "data" / "sample" / "scenario.jsonl"


@pytest.fixture(scope="module")
def labels() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SAMPLE.with_suffix(".labels.json").read_text())
    return loaded


@pytest.fixture
def mine(settings: Settings, kafka_admin: KafkaAdminClient) -> Iterator[Settings]:
    own = own_topics(settings)
    declare_topics(own)
    yield own
    kafka_admin.delete_topics([s.name for s in pipeline_topics(own)])


def test_validate_reports_exactly_the_labelled_malformed_lines(labels: dict[str, Any]) -> None:
    result = _run("validate", str(SAMPLE), "--json", "--bad-lines", "100000")

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(bad["line"], bad["reason"]) for bad in report["bad_lines"]}
    assert found == {(m["line"], m["reason"]) for m in labels["malformed"]}
    assert {f: c["valid"] for f, c in report["feeds"].items()} == labels["events"]


def test_replay_delivers_exactly_the_expected_count_per_topic(
    mine: Settings, labels: dict[str, Any]
) -> None:
    topics = mine.feed_topics()
    expected = Counter({topics[feed]: n for feed, n in labels["events"].items()})
    lines = SAMPLE.read_bytes().split(b"\n")
    router = Router(topics)
    expected.update(router.route(lines[m["line"] - 1])[0] for m in labels["malformed"])

    result = replay(mine, str(SAMPLE))

    assert result.returncode == 0, result.stdout + result.stderr
    records = read_back(mine, list(topics.values()))
    assert Counter(topic for topic, _, _ in records) == expected
    assert sum(expected.values()) == len([ln for ln in lines if ln.strip()])
