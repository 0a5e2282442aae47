"""``sinks.rows``: clean events, alerts and dead letters as rows in column order."""

from __future__ import annotations

from datetime import UTC, datetime

from sinks.ddl import COLUMNS
from sinks.rows import alert_row, dead_letter_row, event_row
from tests.unit import sink_samples as s

AT = datetime(2022, 10, 14, 8, 31, 7, 250_000, tzinfo=s.CST)


def _named(table: str, row: tuple[object, ...]) -> dict[str, object]:
    names = [name for name, _ in COLUMNS[table]]
    assert len(row) == len(names)
    return dict(zip(names, row, strict=True))


def test_a_checkpoint_scan_keeps_pseudonyms_and_masks_only() -> None:
    table, row = event_row(s.checkpoint_scan("cp-1", AT))

    named = _named(table, row)
    assert table == "checkpoint_scans"
    assert named["person_masked"] == "5***************17"
    assert named["phone_masked"] == "138****1234"
    assert len(str(named["person_key"])) == 64
    assert not any(raw in repr(row) for raw in (*s.RAW_IDS, *s.RAW_PHONES))


def test_times_are_epoch_seconds_plus_milliseconds() -> None:
    _, row = event_row(s.checkpoint_scan("cp-1", AT))

    named = _named("checkpoint_scans", row)
    assert named["event_time"] == int(AT.timestamp())
    assert named["event_ms"] == 250


def test_every_feed_has_its_table() -> None:
    events = [
        s.checkpoint_scan("a", AT),
        s.venue_scan("b", AT),
        s.patrol_event("c", AT),
        s.risk_area(AT),
        s.venue("v-1", "pharmacy", AT),
    ]

    tables = [event_row(e)[0] for e in events]

    assert tables == ["checkpoint_scans", "venue_scans", "patrol_events", "risk_areas", "venues"]
    for e in events:
        _named(*event_row(e))


def test_absent_optional_fields_are_null_and_booleans_are_integers() -> None:
    _, row = event_row(s.venue_scan("b", AT, temperature_c=None, mask=None))

    named = _named("venue_scans", row)
    assert named["temperature_c"] is None
    assert named["mask"] is None
    assert named["travel_star"] is None
    assert named["travel_areas"] == []
    assert named["purchase_registered"] is None


def test_a_purchase_is_flattened() -> None:
    scan = s.venue_scan("b", AT, purchase={"category": "fever", "registered": False})

    named = _named("venue_scans", event_row(scan)[1])

    assert (named["purchase_category"], named["purchase_registered"]) == ("fever", 0)


def test_an_alert_without_grid_is_stored_with_an_empty_grid() -> None:
    named = _named("alerts", alert_row(s.alert("cp-1", AT, grid=None)))

    assert named["grid"] == ""
    assert named["evidence"] == ["cp-1"]


def test_a_dead_letter_row_holds_the_redacted_payload() -> None:
    named = _named("dead_letters", dead_letter_row(s.dead_letter(41, AT)))

    assert (named["topic"], named["partition"], named["offset"]) == (
        "feeds.checkpoint-scans",
        2,
        41,
    )
    assert named["has_timestamp"] == 1
    assert not any(raw in str(named["payload"]) for raw in (*s.RAW_IDS, *s.RAW_PHONES))


def test_a_dead_letter_without_timestamp_is_marked() -> None:
    letter = s.dead_letter(41, AT).model_copy(update={"timestamp": None})

    named = _named("dead_letters", dead_letter_row(letter))

    assert (named["time"], named["has_timestamp"]) == (0, 0)


def test_rows_of_the_same_event_are_equal_whatever_the_offset() -> None:
    utc = AT.astimezone(UTC)

    assert event_row(s.checkpoint_scan("x", AT)) == event_row(s.checkpoint_scan("x", utc))
