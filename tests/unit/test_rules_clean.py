"""schemas.clean: pseudonymised models, no raw ID or phone past ingest, the envelope's JSON."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from schemas import decode
from schemas.clean import (
    _ENVELOPES,
    CleanCheckpointScan,
    CleanVenueScan,
    Envelope,
    EventRecord,
    Family,
    Idle,
    ReferenceRecord,
    Watermark,
    dump_envelope,
    dump_event_copies,
    load_envelope,
    pseudonymise,
)
from schemas.feeds import PatrolEvent, Venue, VenueScan
from schemas.identity import pseudonym
from tests.oracle.builders import checkin, checkpoint_scan, person, venue, venue_scan
from tests.unit.rules_support import KEY, clean

ID_SHAPED = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
PHONE_SHAPED = re.compile(r"(?<![0-9])1[0-9]{10}(?![0-9])")
RAW_ID, RAW_PHONE = person(7), "13812345678"


def _scans() -> list[dict[str, object]]:
    return [
        checkpoint_scan("c1", 0, person_id=RAW_ID, phone=RAW_PHONE),
        venue_scan("v1", 0, person_id=RAW_ID, phone=RAW_PHONE),
    ]


@pytest.mark.parametrize("record", _scans(), ids=["checkpoint_scan", "venue_scan"])
def test_no_raw_id_or_phone_survives_pseudonymise(record: dict[str, object]) -> None:
    text = clean(record).model_dump_json()

    assert RAW_ID not in text and RAW_PHONE not in text
    assert not ID_SHAPED.search(text) and not PHONE_SHAPED.search(text), text


def test_person_key_is_the_keyed_pseudonym_and_masks_are_readable() -> None:
    scan = clean(checkpoint_scan("c1", 0, person_id=RAW_ID, phone=RAW_PHONE))

    assert isinstance(scan, CleanCheckpointScan)
    assert scan.person_key == pseudonym(RAW_ID, KEY)
    assert scan.person_masked == RAW_ID[0] + "*" * 15 + RAW_ID[-2:]
    assert scan.phone_masked == "138****5678"


def test_another_key_gives_another_person_key() -> None:
    decoded = decode(json.dumps(venue_scan("v1", 0, person_id=RAW_ID)))
    assert isinstance(decoded, VenueScan)

    first, second = pseudonymise(decoded, b"one"), pseudonymise(decoded, b"two")

    assert isinstance(first, CleanVenueScan) and isinstance(second, CleanVenueScan)
    assert first.person_key != second.person_key


def test_a_scan_without_a_person_has_no_key() -> None:
    scan = clean(venue_scan("v1", 0, person_id=None))

    assert isinstance(scan, CleanVenueScan)
    assert scan.person_key is None and scan.person_masked is None and scan.phone_masked is None


def test_records_without_personal_data_pass_unchanged() -> None:
    patrol, register = clean(checkin("k1", 0)), clean(venue(0))

    assert isinstance(patrol, PatrolEvent) and isinstance(register, Venue)


def test_an_empty_key_is_refused() -> None:
    decoded = decode(json.dumps(venue_scan("v1", 0)))
    assert isinstance(decoded, VenueScan)

    with pytest.raises(ValueError, match="key"):
        pseudonymise(decoded, b"")


def test_fast_construction_equals_validation() -> None:
    scan = clean(
        checkpoint_scan(
            "c1",
            0,
            phone=RAW_PHONE,
            nat={"result": "negative", "sampled_at": "2022-10-14T07:00:00+08:00"},
        )
    )

    validated = CleanCheckpointScan.model_validate_json(scan.model_dump_json())

    assert validated == scan
    assert list(json.loads(scan.model_dump_json())) == list(CleanCheckpointScan.model_fields)


def test_every_envelope_survives_its_json_form() -> None:
    event = clean(venue_scan("v1", 0, person_id=None, temperature_c=None, mask=None))
    register = clean(venue(0))
    assert isinstance(event, CleanVenueScan) and isinstance(register, Venue)
    at = datetime.fromisoformat("2022-10-14T08:00:00+08:00")
    envelopes: list[Envelope] = [
        EventRecord("feeds.venue-scans/3", "venue", "v-1", event),
        ReferenceRecord("ref.venues/0", register),
        Watermark("feeds.venue-scans/3", at),
        Idle("feeds.venue-scans/3"),
    ]

    assert [load_envelope(dump_envelope(e)) for e in envelopes] == envelopes


@pytest.mark.parametrize("source", ["feeds.venue-scans/3", 'odd "source" \\ é\n\u2028'])
def test_event_records_dump_exactly_as_the_envelope_adapter_does(source: str) -> None:
    scans = [clean(s) for s in _scans()]
    patrol = clean(checkin("p1", 0))
    lean = clean(venue_scan("v1", 0, person_id=None, temperature_c=None, mask=None))
    records = [EventRecord(source, "person", 'ké"y', e) for e in [*scans, patrol, lean]]

    for record in records:
        assert dump_envelope(record) == _ENVELOPES.dump_json(record, exclude_none=True)


def test_copies_of_one_event_dump_as_their_envelopes_do() -> None:
    event = clean(_scans()[0])
    routes: list[tuple[Family, str]] = [("person", "p-1"), ("venue", 'v"1'), ("checkpoint", "c")]

    copies = dump_event_copies("feeds.venue-scans/3", event, routes)

    assert copies == [
        _ENVELOPES.dump_json(EventRecord("feeds.venue-scans/3", f, k, event), exclude_none=True)
        for f, k in routes
    ]
