"""``controlfeed replay`` against the live broker, as a user runs it."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.integration.helpers import own_topics, read_back, run_cli

PERSON = "511802198503120017"  # a valid resident ID (checksum digit 7)


def _line(**fields: object) -> str:
    return json.dumps(fields, separators=(",", ":"))


LINES = [
    _line(
        feed="checkpoint_scan", event_id="cp-1", event_time="2022-10-14T08:00:00+08:00",
        checkpoint_id="caoba-toll", direction="in", person_id=PERSON, temperature_c=36.6,
        health_code="green", travel={"star": False, "areas": ["511802"]},
    ),
    _line(
        feed="venue_scan", event_id="vs-1", event_time="2022-10-14T08:00:01+08:00",
        venue_id="v-7", person_id=None, role="visitor", health_code="green",
        temperature_c=None, mask=True,
    ),
    "",
    _line(
        feed="risk_area", area_code="510107", name="Wuhou", level="high",
        event_time="2022-10-14T08:00:02+08:00",
    ),
    _line(
        feed="venue", venue_id="v-7", name="Pharmacy", type="pharmacy", grid="g1", lat=30.0,
        lon=103.0, capacity=20, status="open", event_time="2022-10-14T08:00:03+08:00",
    ),
    _line(
        feed="patrol_event", event_id="pe-1", event_time="2022-10-14T08:00:04+08:00",
        unit_id="u-1", kind="incident_reported", incident_id="inc-9", incident_type="rumor",
    ),
    "not json at all",
    _line(feed="venue", name="a venue without its id"),
    '{"feed":"checkpoint_scan","event_id":"cp-2", truncated',
]  # fmt: skip
VALID = [LINES[i].encode() for i in (0, 1, 3, 4, 5)]


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(LINES).encode() + b"\n"))
    return path


def replay(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("replay", "--no-progress", *args, settings=settings)


def test_each_line_lands_once_on_its_feed_topic_with_its_key(
    declared: Settings, events: Path
) -> None:
    result = replay(declared, str(events))

    assert result.returncode == 0, result.stdout + result.stderr
    records = read_back(declared, list(declared.feed_topics().values()))
    assert Counter(t for t, _, _ in records) == {
        declared.topic_checkpoint_scans: 3,  # one scan, the unreadable line, the truncated scan
        declared.topic_venue_scans: 1,
        declared.topic_risk_areas: 1,
        declared.topic_venues: 2,
        declared.topic_patrol_events: 1,
    }
    keys = {value: key for _, key, value in records}
    assert keys[LINES[0].encode()] == PERSON.encode()
    assert keys[LINES[1].encode()] == b"v-7"
    assert keys[LINES[3].encode()] == b"510107"
    assert keys[LINES[4].encode()] == b"v-7"
    assert keys[LINES[5].encode()] == b"inc-9"
    assert keys[LINES[7].encode()].startswith(b"line:")
    assert "8 sent, 8 delivered" in result.stdout


def test_skip_invalid_sends_only_valid_events(declared: Settings, events: Path) -> None:
    result = replay(declared, "--skip-invalid", "--loop", "2", str(events))

    assert result.returncode == 0, result.stdout + result.stderr
    records = read_back(declared, list(declared.feed_topics().values()))
    assert sorted(v for _, _, v in records) == sorted(VALID * 2)
    assert "6 skipped as invalid; 10 sent, 10 delivered" in result.stdout


def test_missing_topics_are_a_message_with_the_fix(settings: Settings, events: Path) -> None:
    result = replay(own_topics(settings), str(events))

    assert result.returncode == 2
    assert "missing" in result.stderr
    assert "controlfeed topics create" in result.stderr


def test_an_unreachable_broker_reports_what_was_not_delivered(
    settings: Settings, events: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before replay starts
    unreachable = own_topics(settings).model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{port}"}
    )

    result = replay(unreachable, "--delivery-timeout", "1", str(events))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT DELIVERED: 8 record(s)" in result.stdout
    assert f"{unreachable.topic_checkpoint_scans}: 3 failed" in result.stdout
    assert f"{events}:1" in result.stdout


def test_json_prints_the_summary_as_one_object(declared: Settings, events: Path) -> None:
    result = replay(declared, "--json", str(events))

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] and summary["sent"] == summary["delivered"] == summary["lines"] == 8
    assert summary["topics"][declared.topic_checkpoint_scans]["delivered"] == 3
    assert summary["files"] == [str(events)] and summary["not_sent_from"] is None


def test_json_with_missing_topics_is_a_json_error(settings: Settings, events: Path) -> None:
    result = replay(own_topics(settings), "--json", str(events))

    assert result.returncode == 2
    body = json.loads(result.stdout)
    assert "missing" in body["error"] and "controlfeed topics create" in body["hint"]
