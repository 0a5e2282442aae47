"""``streams.wire``: what the writers put on the pipeline's records, the readers read back."""

from __future__ import annotations

from datetime import datetime

import pytest

from streams import wire
from streams.wire import WireError
from tests.unit.sink_samples import CST, alert

AT = datetime(2022, 10, 14, 8, 0, tzinfo=CST)


def test_every_header_is_named_controlfeed_and_unique() -> None:
    names = [getattr(wire, n) for n in wire.__all__ if n.endswith("_HEADER")]

    assert len(names) == 7 and len(set(names)) == len(names)
    assert all(name.startswith("controlfeed.") for name in names)
    assert wire.STORE == (wire.STORE_HEADER, b"1")


def test_a_dead_letters_source_reads_back_what_ingest_wrote() -> None:
    headers = wire.dead_letter_headers([("h", b"1")], "bad_value:phone", "feeds.cp", 2, 41)

    assert headers[0] == ("h", b"1")
    assert wire.dead_letter_source(headers) == ("bad_value:phone", "feeds.cp", 2, 41)
    assert datetime.fromisoformat(dict(headers)[wire.ERROR_TIMESTAMP_HEADER].decode()).tzinfo


@pytest.mark.parametrize(
    ("drop", "replace", "message"),
    [
        (wire.ERROR_OFFSET_HEADER, None, "without the controlfeed.error.offset header"),
        (None, (wire.ERROR_PARTITION_HEADER, b"two"), "non-numeric source header"),
        (None, (wire.ERROR_TOPIC_HEADER, b"\xff"), "undecodable controlfeed.error.topic"),
    ],
)
def test_a_dead_letter_with_broken_headers_is_a_wire_error(
    drop: str | None, replace: tuple[str, bytes] | None, message: str
) -> None:
    headers = wire.dead_letter_headers([], "invalid_json", "feeds.cp", 0, 7)
    headers = [h for h in headers if h[0] != drop]
    if replace is not None:
        headers = [replace if name == replace[0] else (name, v) for name, v in headers]

    with pytest.raises(WireError, match=message):
        wire.dead_letter_source(headers)


def test_the_cause_header_round_trips_and_may_be_absent() -> None:
    assert wire.cause_ms([("other", b"5"), wire.cause_header(1_665_700_000_123)]) == (
        1_665_700_000_123
    )
    assert wire.cause_ms([("other", b"5")]) is None
    assert wire.cause_ms([(wire.CAUSE_HEADER, b"")]) is None


def test_only_a_record_with_the_store_header_is_stored() -> None:
    assert wire.is_stored([wire.cause_header(1), wire.STORE])
    assert not wire.is_stored([wire.cause_header(1)])
    assert not wire.is_stored([])
    assert not wire.is_stored(None)


def test_keys_and_source_names() -> None:
    assert wire.engine_key("checkpoint", "jinjiguan-toll") == b"checkpoint:jinjiguan-toll"
    source = wire.source_name("feeds.checkpoint-scans", 3)
    assert source == "feeds.checkpoint-scans/3"
    assert wire.source_topic(source) == "feeds.checkpoint-scans"


def test_an_alert_is_keyed_by_its_subjects_id() -> None:
    about_a_person = alert("cp-1", AT)
    about_a_venue = about_a_person.model_copy(update={"subject": "venue"})

    assert wire.alert_key(about_a_person) == about_a_person.person_key.encode()  # type: ignore[union-attr]
    assert wire.alert_key(about_a_venue) == b"v-pharmacy"
