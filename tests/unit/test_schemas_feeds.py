"""The five feed models against docs/feeds.md: examples, boundaries, strictness.

The example records here are shared with the other ``test_schemas_*`` modules.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import (
    CheckpointScan,
    PatrolEvent,
    Rejected,
    RiskArea,
    Venue,
    VenueScan,
    decode,
)

FEEDS_MD_EXAMPLE = (
    '{"feed":"checkpoint_scan","event_id":"cp-000001","event_time":"2022-10-14T08:31:07+08:00",'
    '"checkpoint_id":"jinjiguan-toll","direction":"in","person_id":"51180219850312001X",'
    '"phone":"13800001234","plate":"川T12345","temperature_c":36.6,"health_code":"green",'
    '"travel":{"star":false,"areas":["510107","511802"]},'
    '"nat":{"result":"negative","sampled_at":"2022-10-13T10:00:00+08:00"}}'
)
"""The literal example of docs/feeds.md. Its person_id fails the checksum docs/feeds.md requires."""

VALID_ID = "511802198503120017"
"""The example's ID number with the right check character (7, not X)."""

CHECKPOINT: dict[str, Any] = json.loads(FEEDS_MD_EXAMPLE) | {"person_id": VALID_ID}
TIME = "2022-10-14T09:02:00.250+08:00"
VENUE_SCAN: dict[str, Any] = {
    "feed": "venue_scan",
    "event_id": "vs-000001",
    "event_time": TIME,
    "venue_id": "pharmacy-0012",
    "person_id": VALID_ID,
    "phone": "13800001234",
    "role": "staff",
    "health_code": "yellow",
    "temperature_c": 36.4,
    "mask": True,
    "travel": {"star": True, "areas": ["511802"]},
    "nat": {"result": "pending", "sampled_at": "2022-10-14T07:00:00Z"},
    "purchase": {"category": "fever", "registered": False},
}
INCIDENT: dict[str, Any] = {
    "feed": "patrol_event",
    "event_id": "pe-000001",
    "event_time": TIME,
    "unit_id": "unit-3",
    "kind": "incident_reported",
    "site_id": "bus-station",
    "incident_id": "inc-7",
    "incident_type": "rumor",
    "location": {"lat": 29.987, "lon": 103.005},
}
INSPECTION: dict[str, Any] = {
    "feed": "patrol_event",
    "event_id": "pe-000002",
    "event_time": TIME,
    "unit_id": "unit-3",
    "kind": "inspection",
    "inspection": {"target_id": "hotel-0003", "passed": False, "issues": ["no register"]},
}
RISK_AREA: dict[str, Any] = {
    "feed": "risk_area",
    "area_code": "510107",
    "name": "武侯区",
    "level": "high",
    "event_time": TIME,
}
VENUE: dict[str, Any] = {
    "feed": "venue",
    "venue_id": "pharmacy-0012",
    "name": "仁和大药房",
    "type": "pharmacy",
    "grid": "qingjiang-3",
    "lat": 29.98,
    "lon": 103.01,
    "capacity": 30,
    "status": "open",
    "event_time": TIME,
}
EXAMPLES = (CHECKPOINT, VENUE_SCAN, INCIDENT, INSPECTION, RISK_AREA, VENUE)


def encode(record: Any) -> bytes:
    """A record as the UTF-8 JSON bytes a producer would send."""
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def changed(base: dict[str, Any], path: str, value: Any = ..., *, drop: bool = False) -> bytes:
    """``base`` with the dotted ``path`` set to ``value`` (or removed), encoded."""
    record = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = record
    for part in parents:
        node = node[part]
    if drop:
        del node[last]
    else:
        node[last] = value
    return encode(record)


def reason(raw: bytes) -> str:
    result = decode(raw)
    assert isinstance(result, Rejected), f"accepted: {result!r}"
    return result.reason


def test_the_feeds_md_example_fails_its_own_checksum_rule() -> None:
    assert reason(FEEDS_MD_EXAMPLE.encode()) == "bad_value:person_id"


def test_the_feeds_md_example_with_a_valid_checksum_is_a_checkpoint_scan() -> None:
    event = decode(encode(CHECKPOINT))

    assert isinstance(event, CheckpointScan)
    assert (event.checkpoint_id, event.person_id, event.plate) == (
        "jinjiguan-toll",
        VALID_ID,
        "川T12345",
    )
    assert event.travel.areas == ("510107", "511802")


def test_times_keep_their_offset() -> None:
    event = decode(encode(CHECKPOINT))

    assert isinstance(event, CheckpointScan)
    assert event.event_time.utcoffset() == timedelta(hours=8)
    assert event.nat is not None and event.nat.sampled_at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("record", "model"),
    [
        (VENUE_SCAN, VenueScan),
        (INCIDENT, PatrolEvent),
        (INSPECTION, PatrolEvent),
        (RISK_AREA, RiskArea),
        (VENUE, Venue),
    ],
)
def test_each_example_decodes_to_its_model(record: dict[str, Any], model: type) -> None:
    assert type(decode(encode(record))) is model


def test_z_is_an_offset() -> None:
    event = decode(changed(CHECKPOINT, "event_time", "2022-10-14T00:31:07Z"))

    assert isinstance(event, CheckpointScan)
    assert event.event_time.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["2022-10-14T08:31:07", "2022-10-14", 1665707467])
def test_a_time_without_offset_is_bad(value: object) -> None:
    assert reason(changed(CHECKPOINT, "event_time", value)) == "bad_value:event_time"


@pytest.mark.parametrize("temperature", [34.0, 43.0, 37])
def test_temperature_bounds_are_inclusive(temperature: float) -> None:
    assert isinstance(decode(changed(CHECKPOINT, "temperature_c", temperature)), CheckpointScan)


@pytest.mark.parametrize("temperature", [33.9, 43.1, "36.6", None])
def test_temperature_outside_the_range_or_not_a_number_is_bad(temperature: object) -> None:
    assert reason(changed(CHECKPOINT, "temperature_c", temperature)) == "bad_value:temperature_c"


def test_a_venue_scan_may_have_no_temperature_and_no_mask_observation() -> None:
    record = copy.deepcopy(VENUE_SCAN) | {"temperature_c": None, "mask": None}

    event = decode(encode(record))

    assert isinstance(event, VenueScan)
    assert (event.temperature_c, event.mask) == (None, None)


def test_a_venue_scan_temperature_has_the_same_range() -> None:
    assert reason(changed(VENUE_SCAN, "temperature_c", 43.5)) == "bad_value:temperature_c"


@pytest.mark.parametrize("phone", ["1380000123", "138000012345", "1380000123x", "\uff113800001234"])
def test_a_phone_is_exactly_11_ascii_digits(phone: str) -> None:
    assert reason(changed(CHECKPOINT, "phone", phone)) == "bad_value:phone"


def test_an_optional_field_may_be_absent_but_not_null() -> None:
    assert isinstance(decode(changed(CHECKPOINT, "phone", drop=True)), CheckpointScan)
    assert reason(changed(CHECKPOINT, "phone", None)) == "bad_value:phone"


def test_person_id_may_be_null_but_not_absent() -> None:
    assert isinstance(decode(changed(CHECKPOINT, "person_id", None)), CheckpointScan)
    assert reason(changed(CHECKPOINT, "person_id", drop=True)) == "missing_field:person_id"


@pytest.mark.parametrize(
    "person_id", ["11010519491231002x", "51180219850312001", "5118021985031200170"]
)
def test_person_id_shape_is_strict(person_id: str) -> None:
    assert reason(changed(CHECKPOINT, "person_id", person_id)) == "bad_value:person_id"


def test_event_id_is_1_to_64_characters() -> None:
    assert isinstance(decode(changed(CHECKPOINT, "event_id", "e" * 64)), CheckpointScan)
    assert reason(changed(CHECKPOINT, "event_id", "e" * 65)) == "bad_value:event_id"
    assert reason(changed(CHECKPOINT, "event_id", "")) == "bad_value:event_id"


def test_no_coercion_of_booleans() -> None:
    assert reason(changed(VENUE_SCAN, "mask", 1)) == "bad_value:mask"


def test_enumerations_are_case_sensitive() -> None:
    assert reason(changed(CHECKPOINT, "health_code", "Green")) == "bad_value:health_code"


def test_extra_fields_are_ignored_at_every_level() -> None:
    record = copy.deepcopy(CHECKPOINT) | {"operator": "li", "travel": {"star": False, "areas": []}}
    record["travel"]["source"] = "app"

    event = decode(encode(record))

    assert isinstance(event, CheckpointScan)
    assert not hasattr(event, "operator")


def test_capacity_is_a_non_negative_integer() -> None:
    assert reason(changed(VENUE, "capacity", 30.0)) == "bad_value:capacity"
    assert reason(changed(VENUE, "capacity", -1)) == "bad_value:capacity"


def test_events_are_frozen() -> None:
    event = decode(encode(RISK_AREA))
    assert isinstance(event, RiskArea)

    with pytest.raises(ValidationError):
        event.level = "low"  # type: ignore[misc]
