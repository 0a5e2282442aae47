"""decode(): every reason code is reachable, and the first problem wins."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas import REASONS, PatrolEvent, Rejected, decode
from schemas.reasons import FIELD_ORDER, WRONG_TOPIC
from tests.unit.test_schemas_feeds import (
    CHECKPOINT,
    EXAMPLES,
    INCIDENT,
    INSPECTION,
    VENUE_SCAN,
    changed,
    encode,
    reason,
)

ENVELOPE = ("invalid_json", "not_an_object", "missing_field:feed", "unknown_feed")


def _example_with(path: str) -> dict[str, Any]:
    """An example record whose table has ``path`` and that carries it."""
    for record in EXAMPLES:
        node: Any = record
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None and path in FIELD_ORDER[record["feed"]]:
            return record
    raise AssertionError(f"no example carries {path}")


def _breaking(code: str) -> bytes:
    """A record that should be rejected with ``code``."""
    kind, _, path = code.partition(":")
    base = _example_with(path)
    if kind == "missing_field":
        return changed(base, path, drop=True)
    current: Any = base
    for part in path.split("."):
        current = current[part]
    # A list is the wrong type for every field; a list field gets a list of lists.
    return changed(base, path, [[]] if isinstance(current, list) else [])


@pytest.mark.parametrize("code", sorted(REASONS - set(ENVELOPE)))
def test_every_field_reason_is_reachable(code: str) -> None:
    assert reason(_breaking(code)) == code


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"not json", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b'\xef\xbb\xbf{"feed":"venue"}', "invalid_json"),
        (b'{"feed":"venue"} {}', "invalid_json"),
        (b"", "invalid_json"),
        (b"[]", "not_an_object"),
        (b"null", "not_an_object"),
        (b'"checkpoint_scan"', "not_an_object"),
        (b'{"event_id":"x"}', "missing_field:feed"),
        (b'{"feed":"Venue"}', "unknown_feed"),
        (b'{"feed":null}', "unknown_feed"),
        (b'{"feed":5}', "unknown_feed"),
    ],
)
def test_envelope_reasons(raw: bytes, code: str) -> None:
    assert reason(raw) == code


def test_the_set_of_reasons_is_complete_and_excludes_the_workers_own() -> None:
    assert set(ENVELOPE) <= REASONS
    assert WRONG_TOPIC not in REASONS


def test_the_first_field_in_table_order_wins_whatever_the_json_order() -> None:
    record = {"temperature_c": 50.0} | copy.deepcopy(CHECKPOINT) | {"event_time": "yesterday"}
    record["temperature_c"] = 50.0

    assert reason(encode(record)) == "bad_value:event_time"


def test_a_nested_field_comes_right_after_its_parent() -> None:
    record = copy.deepcopy(CHECKPOINT)
    record["nat"]["result"] = "maybe"
    record["travel"]["star"] = "no"

    assert reason(encode(record)) == "bad_value:travel.star"


def test_a_list_element_is_reported_under_the_list() -> None:
    assert reason(changed(CHECKPOINT, "travel.areas", ["510107", "5101"])) == (
        "bad_value:travel.areas"
    )


def test_a_field_the_kind_requires_is_reported_in_table_order() -> None:
    record = copy.deepcopy(INCIDENT)
    del record["incident_id"]
    record["location"] = {"lat": "north", "lon": 1.0}

    assert reason(encode(record)) == "missing_field:incident_id"


def test_an_earlier_bad_field_beats_a_missing_kind_field() -> None:
    record = copy.deepcopy(INCIDENT) | {"unit_id": ""}
    del record["incident_type"]

    assert reason(encode(record)) == "bad_value:unit_id"


@pytest.mark.parametrize("kind", ["dispatched", "arrived", "resolved"])
def test_incident_stages_require_incident_id(kind: str) -> None:
    record = copy.deepcopy(INCIDENT) | {"kind": kind}
    del record["incident_id"]

    assert reason(encode(record)) == "missing_field:incident_id"


def test_incident_type_is_required_only_on_reports() -> None:
    dispatched = copy.deepcopy(INCIDENT) | {"kind": "dispatched"}
    del dispatched["incident_type"]

    assert isinstance(decode(encode(dispatched)), PatrolEvent)
    assert reason(changed(INCIDENT, "incident_type", drop=True)) == "missing_field:incident_type"


def test_an_inspection_requires_its_outcome() -> None:
    assert reason(changed(INSPECTION, "inspection", drop=True)) == "missing_field:inspection"


def test_a_checkin_without_site_id_is_valid() -> None:
    checkin = {k: v for k, v in INCIDENT.items() if k not in ("incident_id", "incident_type")}
    checkin = checkin | {"kind": "checkin"}
    del checkin["site_id"]

    event = decode(encode(checkin))

    assert isinstance(event, PatrolEvent)
    assert event.site_id is None


def test_a_rejection_names_the_feed_once_it_is_known() -> None:
    bad_field = decode(changed(VENUE_SCAN, "role", "owner"))
    no_feed = decode(b'{"feed":"nope"}')

    assert isinstance(bad_field, Rejected) and bad_field.feed == "venue_scan"
    assert isinstance(no_feed, Rejected) and no_feed.feed is None


def test_a_rejection_detail_never_repeats_an_id_number() -> None:
    rejected = decode(changed(CHECKPOINT, "person_id", "110105194912310021"))

    assert isinstance(rejected, Rejected)
    assert rejected.detail and "110105194912310021" not in rejected.detail


def test_decode_accepts_str_as_well_as_bytes() -> None:
    assert not isinstance(decode(encode(CHECKPOINT).decode("utf-8")), Rejected)


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_non_finite_numbers_are_bad_values(value: str) -> None:
    raw = encode(INCIDENT).replace(b'"lat": 29.987', f'"lat": {value}'.encode())

    assert reason(raw) == "bad_value:location.lat"
