"""The checked-in sample scenario through validate and replay, against its labels."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from streams.devtools.demo import SAMPLE, sample_labels
from streams.devtools.replay.routing import Router
from streams.settings import Settings
from tests.integration.helpers import read_back, run_cli
from tests.integration.test_replay import replay


@pytest.fixture(scope="module")
def labels() -> dict[str, Any]:
    return sample_labels()


def test_validate_reports_exactly_the_labelled_malformed_lines(labels: dict[str, Any]) -> None:
    result = run_cli("validate", str(SAMPLE), "--json", "--bad-lines", "100000")

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(bad["line"], bad["reason"]) for bad in report["bad_lines"]}
    assert found == {(m["line"], m["reason"]) for m in labels["malformed"]}
    assert {f: c["valid"] for f, c in report["feeds"].items()} == labels["events"]


def test_replay_delivers_exactly_the_expected_count_per_topic(
    declared: Settings, labels: dict[str, Any]
) -> None:
    topics = declared.feed_topics()
    expected = Counter({topics[feed]: n for feed, n in labels["events"].items()})
    lines = SAMPLE.read_bytes().split(b"\n")
    router = Router(topics)
    expected.update(router.route(lines[m["line"] - 1])[0] for m in labels["malformed"])

    result = replay(declared, str(SAMPLE))

    assert result.returncode == 0, result.stdout + result.stderr
    records = read_back(declared, list(topics.values()))
    assert Counter(topic for topic, _, _ in records) == expected
    assert sum(expected.values()) == len([ln for ln in lines if ln.strip()])
