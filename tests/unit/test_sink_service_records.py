"""``streams.sink.records``: which Kafka records become rows; ``Backoff``. No broker."""

from __future__ import annotations

from datetime import datetime

import pytest

from rules import default_config, route
from schemas.clean import EventRecord, ReferenceRecord, Watermark, dump_envelope
from streams.sink.backoff import Backoff
from streams.sink.exceptions import UnreadableRecordError
from streams.sink.records import alert_of, dead_letter_of, event_of
from streams.worker.deadletter import dead_letter_headers
from tests.unit.sink_samples import CST, RAW_IDS, alert, checkpoint_scan, risk_area

AT = datetime(2022, 10, 14, 8, 0, tzinfo=CST)
CONFIG = default_config()


def _copies(event_id: str) -> list[tuple[bytes, bytes]]:
    scan = checkpoint_scan(event_id, AT)
    return [
        (f"{family}:{key}".encode(), dump_envelope(EventRecord("t/0", family, key, scan)))  # type: ignore[arg-type]
        for family, key in route(scan, CONFIG)
    ]


def test_only_the_first_copy_of_an_event_is_stored() -> None:
    copies = _copies("cp-1")
    assert len(copies) == 2
    stored = [event_of(1, key, value, CONFIG) for key, value in copies]
    assert stored[0] is not None and stored[0].event_id == "cp-1"  # type: ignore[union-attr]
    assert stored[1] is None


def test_a_reference_record_is_stored_from_partition_0_only() -> None:
    value = dump_envelope(ReferenceRecord("ref/0", risk_area(AT)))  # type: ignore[arg-type]
    assert event_of(0, None, value, CONFIG) is not None
    assert event_of(1, None, value, CONFIG) is None


def test_markers_are_skipped() -> None:
    assert event_of(0, None, dump_envelope(Watermark("t/0", AT)), CONFIG) is None


def test_a_foreign_engine_record_is_unreadable() -> None:
    with pytest.raises(UnreadableRecordError):
        event_of(0, b"k", b'{"kind": "nonsense"}', CONFIG)


def test_an_alert_round_trips_and_garbage_is_unreadable() -> None:
    one = alert("cp-1", AT)
    assert alert_of(one.model_dump_json().encode()) == one
    with pytest.raises(UnreadableRecordError):
        alert_of(b"not json")


def test_a_dead_letter_takes_its_source_from_the_headers_and_is_redacted() -> None:
    raw = f'{{"feed": "checkpoint_scan", "person_id": "{RAW_IDS[0]}"}}'.encode()
    headers = dead_letter_headers([], "missing_field:event_id", "feeds.x", 2, 41)
    letter = dead_letter_of(raw, headers, 1_665_700_000_000)
    assert (letter.reason, letter.topic, letter.partition, letter.offset) == (
        "missing_field:event_id", "feeds.x", 2, 41,
    )  # fmt: skip
    assert letter.feed == "checkpoint_scan" and letter.timestamp is not None
    assert RAW_IDS[0] not in letter.payload


def test_a_dead_letter_without_source_headers_is_unreadable() -> None:
    with pytest.raises(UnreadableRecordError):
        dead_letter_of(b"{}", [("controlfeed.error.reason", b"invalid_json")], None)


def test_backoff_doubles_to_its_cap_and_resets() -> None:
    backoff = Backoff(0.5, 4.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next() == 0.5 and backoff.failures == 1
