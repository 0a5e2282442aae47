"""``streams.sink.records``: which records become rows; ``Backoff``; ``SkipLog``. No broker."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from rules import default_config
from schemas.clean import Watermark, dump_envelope
from streams.settings import Settings
from streams.sink.backoff import Backoff
from streams.sink.exceptions import UnreadableRecordError
from streams.sink.records import alert_of, dead_letter_of, event_of
from streams.sink.skips import SkipLog
from streams.wire import ERROR_REASON_HEADER, STORE, STORE_HEADER, dead_letter_headers
from streams.worker.idleness import SourceTracker
from streams.worker.ingest import EngineOut, Ingest, RawRecord
from tests.oracle.builders import checkpoint_scan as checkpoint_line
from tests.oracle.builders import venue as venue_line
from tests.unit.sink_samples import CST, RAW_IDS, alert

AT = datetime(2022, 10, 14, 8, 0, tzinfo=CST)
CONFIG = default_config()
FEED_TOPICS = Settings().feed_topics()


def _engine_records(raw: bytes) -> list[EngineOut]:
    """What ingest sends to a 3-partition engine topic for one input line."""
    ingest = Ingest(FEED_TOPICS, b"k" * 32, CONFIG, 3, SourceTracker())
    out = ingest.handle(RawRecord(FEED_TOPICS[json.loads(raw)["feed"]], 0, 0, None, raw, []), 0.0)
    assert isinstance(out, list)
    return out


def _headers(record: EngineOut) -> list[tuple[str, bytes]] | None:
    return [STORE] if record.store else None


def test_only_the_copy_ingest_marks_is_stored() -> None:
    copies = _engine_records(json.dumps(checkpoint_line("cp-1", 0)).encode())
    assert len(copies) == 2

    stored = [event_of(r.value, _headers(r)) for r in copies]

    assert [s is not None for s in stored] == [True, False]
    assert stored[0] is not None and stored[0].event_id == "cp-1"  # type: ignore[union-attr]


def test_a_reference_record_is_stored_from_one_partition_only() -> None:
    copies = _engine_records(json.dumps(venue_line(0)).encode())

    stored = [event_of(r.value, _headers(r)) for r in copies]

    assert len(stored) == 3 and sum(s is not None for s in stored) == 1


def test_markers_and_unmarked_records_are_skipped_without_decoding() -> None:
    assert event_of(dump_envelope(Watermark("t/0", AT)), None) is None
    assert event_of(b"not even json", [("other", b"1")]) is None


def test_a_marked_record_that_is_not_an_envelope_is_unreadable() -> None:
    with pytest.raises(UnreadableRecordError):
        event_of(b'{"kind": "nonsense"}', [(STORE_HEADER, b"1")])


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
        dead_letter_of(b"{}", [(ERROR_REASON_HEADER, b"invalid_json")], None)


def test_backoff_doubles_to_its_cap_and_resets() -> None:
    backoff = Backoff(0.5, 4.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next() == 0.5 and backoff.failures == 1


def test_unreadable_records_are_counted_but_logged_once_per_interval_per_topic() -> None:
    skips = SkipLog(interval=10.0)

    logged = [skips.skipped("t", float(second)) for second in range(25)]

    assert [count for count in logged if count is not None] == [1, 11, 21]
    assert skips.skipped("u", 25.0) == 1, "each topic is logged on its own"
    assert skips.count("t") == 25 and skips.count("other") == 0
