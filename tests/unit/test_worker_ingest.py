"""streams.worker.ingest and idleness: dead letters, pseudonyms, routing, markers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rules import default_config, partition_for
from schemas.clean import Idle, Watermark, load_envelope
from schemas.downstream import CLEAN_SCHEMA_VERSION, load_downstream
from schemas.identity import pseudonym
from streams.wire import ERROR_OFFSET_HEADER, ERROR_REASON_HEADER, ERROR_TOPIC_HEADER
from streams.worker.counts import IngestCounts
from streams.worker.idleness import SourceTracker
from streams.worker.ingest import DeadLetterOut, Ingest, RawRecord
from tests.oracle.builders import PERSON, checkpoint_scan, venue

KEY = b"worker-test-secret"
TOPICS = {
    "checkpoint_scan": "cp",
    "venue_scan": "vs",
    "patrol_event": "pe",
    "risk_area": "ra",
    "venue": "ve",
}


def _ingest(partitions: int = 3) -> Ingest:
    return Ingest(TOPICS, KEY, default_config(), partitions, SourceTracker(silence_s=1.0))


def _raw(topic: str, value: bytes | dict[str, Any], offset: int = 7) -> RawRecord:
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    return RawRecord(topic, 1, offset, b"k", data, [("h", b"1")])


def test_bad_input_keeps_key_value_and_headers_and_says_why() -> None:
    out = _ingest().handle(_raw("cp", b"{not json"), now=0.0)

    assert isinstance(out, DeadLetterOut)
    assert (out.key, out.value, out.headers[0]) == (b"k", b"{not json", ("h", b"1"))
    headers = dict(out.headers)
    assert headers[ERROR_REASON_HEADER] == b"invalid_json"
    assert (headers[ERROR_TOPIC_HEADER], headers[ERROR_OFFSET_HEADER]) == (b"cp", b"7")


def test_a_valid_event_on_another_feeds_topic_is_wrong_topic() -> None:
    out = _ingest().handle(_raw("vs", checkpoint_scan("c1", 0)), now=0.0)

    assert isinstance(out, DeadLetterOut)
    assert dict(out.headers)[ERROR_REASON_HEADER] == b"wrong_topic"


def test_a_live_event_also_becomes_one_clean_record_keyed_by_its_subject() -> None:
    clean = {"checkpoint_scan": "clean.cp", "venue_scan": "clean.vs", "patrol_event": "clean.pe"}
    ingest = Ingest(TOPICS, KEY, default_config(), 3, SourceTracker(silence_s=1.0), clean)

    scan = ingest.handle(_raw("cp", checkpoint_scan("c1", 0)), now=0.0)
    reference = ingest.handle(_raw("ve", venue(0)), now=0.0)

    assert isinstance(scan, list) and isinstance(reference, list)
    records = [o for o in scan if o.topic is not None]
    assert [(o.topic, o.partition, o.key) for o in records] == [
        ("clean.cp", -1, pseudonym(PERSON, KEY).encode())
    ]
    event = load_downstream(records[0].value)
    assert event.schema_version == CLEAN_SCHEMA_VERSION and event.event_id == "c1"
    assert PERSON.encode() not in records[0].value
    assert [o for o in reference if o.topic is not None] == []  # reference feeds: none
    plain = _ingest().handle(_raw("cp", checkpoint_scan("c2", 0)), now=0.0)
    assert isinstance(plain, list) and all(o.topic is None for o in plain)  # none configured


def test_a_scan_goes_to_its_families_pseudonymised() -> None:
    out = _ingest().handle(_raw("cp", checkpoint_scan("c1", 0)), now=0.0)

    assert isinstance(out, list)
    person = pseudonym(PERSON, KEY)
    assert [(o.partition, o.key) for o in out] == [
        (partition_for("checkpoint", "jinjiguan-toll", 3), b"checkpoint:jinjiguan-toll"),
        (partition_for("person", person, 3), f"person:{person}".encode()),
    ]
    assert all(PERSON.encode() not in o.value for o in out)
    assert any(person.encode() in o.value for o in out)


def test_a_reference_record_goes_to_every_partition() -> None:
    out = _ingest(partitions=4).handle(_raw("ve", venue(0)), now=0.0)

    assert isinstance(out, list)
    assert sorted(o.partition for o in out) == [0, 1, 2, 3]


def test_watermark_markers_follow_the_highest_time_once() -> None:
    ingest = _ingest(partitions=2)
    ingest.handle(_raw("cp", checkpoint_scan("c1", 0)), now=0.0)

    markers = [load_envelope(m.value) for m in ingest.markers()]

    assert len(markers) == 2 and all(isinstance(m, Watermark) for m in markers)
    assert ingest.markers() == []


def test_a_source_is_idle_only_when_silent_and_caught_up() -> None:
    tracker = SourceTracker(silence_s=1.0)
    tracker.seen("cp/0", 9, datetime(2022, 10, 14, tzinfo=UTC), now=10.0)

    assert tracker.idle_candidates(now=10.5) == []
    assert tracker.idle_candidates(now=11.0) == ["cp/0"]
    assert not tracker.is_caught_up("cp/0", 11, None)
    assert tracker.is_caught_up("cp/0", 10, None)


def test_a_record_of_an_idle_source_is_preceded_by_a_reviving_watermark() -> None:
    ingest = _ingest(partitions=2)
    ingest.handle(_raw("cp", checkpoint_scan("c1", 0)), now=0.0)
    ingest.markers()

    idle = [load_envelope(m.value) for m in ingest.idle("cp/1")]
    out = ingest.handle(_raw("cp", checkpoint_scan("c2", 60), offset=8), now=5.0)

    assert idle == [Idle("cp/1"), Idle("cp/1")]
    revive = [load_envelope(o.value) for o in out[:2]]
    assert all(isinstance(m, Watermark) and m.source == "cp/1" for m in revive)
    assert len(out) == 4  # the two markers, then the scan's two copies


def test_nothing_is_idle_before_the_first_record_of_any_source() -> None:
    tracker = SourceTracker(silence_s=1.0)
    tracker.start("cp/0", now=0.0)

    assert tracker.idle_candidates(now=100.0) == []
    tracker.seen("cp/1", 0, None, now=100.0)
    assert tracker.idle_candidates(now=101.5) == ["cp/1"]  # never read: twice the silence
    assert tracker.idle_candidates(now=102.0) == ["cp/0", "cp/1"]
    assert tracker.is_caught_up("cp/0", 5, position=5)
    assert not tracker.is_caught_up("cp/0", 5, position=None)


def test_valid_events_and_dead_letters_are_counted_for_the_stage_to_export_per_batch() -> None:
    ingest = _ingest()
    for minute in (5, 2, 9):
        ingest.handle(_raw("cp", checkpoint_scan("c1", minute * 60)), now=0.0)
    ingest.handle(_raw("cp", b"{not json"), now=0.0)  # a dead letter is not an event
    ingest.handle(_raw("cp", b"[]"), now=0.0)
    ingest.handle(_raw("vs", checkpoint_scan("c2", 0)), now=0.0)
    ingest.handle(_raw("ve", venue(0)), now=0.0)

    counts = ingest.take_counts()

    latest = checkpoint_scan("c1", 9 * 60)["event_time"]
    assert counts.events["checkpoint_scan"] == (
        3, datetime.fromisoformat(str(latest)).timestamp(),
    )  # fmt: skip
    assert counts.events["venue"][0] == 1 and set(counts.events) == {"checkpoint_scan", "venue"}
    assert counts.dead_letters == {"invalid_json": 1, "not_an_object": 1, "wrong_topic": 1}
    assert ingest.take_counts() == IngestCounts()  # taken: the next batch starts from nothing
