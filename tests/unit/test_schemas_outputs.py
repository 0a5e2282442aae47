"""The output contracts: Alert, alert_id, DeadLetter."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import Alert, DeadLetter, Rejected, alert_id, pseudonym

CST = timezone(timedelta(hours=8))
WHEN = datetime(2022, 10, 14, 8, 31, 7, tzinfo=CST)
PERSON = pseudonym("11010519491231002X", b"test-key")


def _alert(**changes: Any) -> Alert:
    fields: dict[str, Any] = {
        "alert_id": alert_id("fever", "warning", ["cp-1"], WHEN, PERSON),
        "rule": "fever",
        "severity": "warning",
        "subject": "person",
        "event_time": WHEN,
        "evidence": ["cp-1"],
        "checkpoint_id": "jinjiguan-toll",
        "person_key": PERSON,
        "person_masked": "1***************2X",
        "message": "temperature 37.8 C at jinjiguan-toll",
    }
    return Alert(**(fields | changes))


def test_an_alert_carries_the_current_schema_version() -> None:
    assert _alert().schema_version == 1


def test_an_alert_round_trips_through_json() -> None:
    alert = _alert()

    assert Alert.model_validate_json(alert.model_dump_json()) == alert


def test_alert_id_ignores_evidence_order_and_the_offset() -> None:
    first = alert_id("crowding", "warning", ["a", "b"], WHEN, "venue-1")

    assert first == alert_id("crowding", "warning", ["b", "a"], WHEN.astimezone(UTC), "venue-1")
    assert first != alert_id("crowding", "warning", ["a", "b"], WHEN, "venue-2")


def test_alert_id_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="offset-aware"):
        alert_id("fever", "warning", [], WHEN.replace(tzinfo=None), "x")


def test_an_alert_about_a_person_needs_the_pseudonym() -> None:
    with pytest.raises(ValidationError, match="person_key"):
        _alert(person_key=None)


def test_a_raw_id_number_is_not_a_person_key() -> None:
    with pytest.raises(ValidationError, match="person_key"):
        _alert(person_key="11010519491231002X")


def test_an_unknown_rule_is_refused() -> None:
    with pytest.raises(ValidationError, match="rule"):
        _alert(rule="sneezing")


def test_evidence_must_be_sorted() -> None:
    with pytest.raises(ValidationError, match="sorted"):
        _alert(evidence=["cp-2", "cp-1"])


def test_an_alert_refuses_a_naive_event_time() -> None:
    with pytest.raises(ValidationError, match="event_time"):
        _alert(event_time=WHEN.replace(tzinfo=None))


def _dead(raw: bytes) -> DeadLetter:
    rejected = Rejected("bad_value:temperature_c", "checkpoint_scan", "too hot")
    return DeadLetter.from_record(
        raw, rejected, topic="feeds.checkpoint-scans", partition=2, offset=41, timestamp=WHEN
    )


def test_a_dead_letter_keeps_where_the_record_came_from() -> None:
    dead = _dead(b"{}")

    assert (dead.reason, dead.feed, dead.topic, dead.partition, dead.offset) == (
        "bad_value:temperature_c",
        "checkpoint_scan",
        "feeds.checkpoint-scans",
        2,
        41,
    )


def test_a_dead_letter_payload_has_ids_and_phones_masked() -> None:
    dead = _dead(b'{"person_id":"11010519491231002X","phone":"13812345678"}')

    assert dead.payload_encoding == "utf-8"
    assert dead.payload == '{"person_id":"1***************2X","phone":"138****5678"}'


def test_a_payload_that_is_not_utf8_is_stored_as_base64() -> None:
    dead = _dead(b"\xff\xfe13812345678")

    assert dead.payload_encoding == "base64"
    assert dead.payload_bytes() == b"\xff\xfe138****5678"
    assert base64.b64decode(dead.payload) == dead.payload_bytes()


def test_a_dead_letter_round_trips_through_json() -> None:
    dead = _dead(b"\x00\x01")

    assert DeadLetter.model_validate_json(dead.model_dump_json()) == dead
