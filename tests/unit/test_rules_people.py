"""The engine's person rules: impossible-travel (sequence) and returnee-untested (deadline)."""

from __future__ import annotations

from typing import Any

from schemas.identity import pseudonym
from tests.oracle.builders import (
    DAY,
    HOUR,
    PERSON,
    checkpoint_scan,
    clock,
    nat,
    person,
    time_of,
    travel,
    venue,
    venue_scan,
)
from tests.unit.rules_support import KEY, in_order, keys_of, of_rule

Record = dict[str, Any]
# jinjiguan-toll to fengming-toll: 8.829 km, 211.9 s at exactly 150 km/h.
A, B = "jinjiguan-toll", "fengming-toll"
KM_PER_DEGREE = 6371.0 * 3.141592653589793 / 180


def test_travel_just_over_150_kmh_is_impossible() -> None:
    records = [
        checkpoint_scan("p1", 0, checkpoint_id=A),
        checkpoint_scan("p2", 211, checkpoint_id=B),
    ]

    (alert,) = of_rule(in_order(records), "impossible-travel")
    assert (alert.evidence, alert.event_time, alert.person_key, alert.checkpoint_id) == (
        ("p1", "p2"),
        time_of(211),
        pseudonym(PERSON, KEY),
        B,
    )


def test_travel_just_under_150_kmh_is_possible() -> None:
    records = [
        checkpoint_scan("p1", 0, checkpoint_id=A),
        checkpoint_scan("p2", 212, checkpoint_id=B),
    ]

    assert keys_of(in_order(records), "impossible-travel") == []


def two_venues_apart(km: float) -> list[Record]:
    return [venue(0, "v-a", lat=30.0, lon=103.0), venue(0, "v-b", lat=30.0 + km / KM_PER_DEGREE)]


def test_at_the_same_instant_5_km_is_impossible_and_4_99_is_not() -> None:
    scans = [venue_scan("p1", 10, venue_id="v-a"), venue_scan("p2", 10, venue_id="v-b")]

    assert keys_of(in_order(two_venues_apart(5.01) + scans), "impossible-travel") == [
        ("impossible-travel", "warning", ("p1", "p2"))
    ]
    assert keys_of(in_order(two_venues_apart(4.99) + scans), "impossible-travel") == []


def test_it_compares_with_the_previous_scan_only() -> None:
    records = [
        checkpoint_scan("p1", 0, checkpoint_id=A),
        checkpoint_scan("p2", HOUR, checkpoint_id=B),
        checkpoint_scan("p3", HOUR + 1, checkpoint_id=A),
    ]

    assert keys_of(in_order(records), "impossible-travel") == [
        ("impossible-travel", "warning", ("p2", "p3"))
    ]


def test_unknown_places_and_other_people_are_not_compared() -> None:
    records = [
        checkpoint_scan("p1", 0, checkpoint_id=A),
        venue_scan("p2", 1, venue_id="v-unregistered"),
        checkpoint_scan("p3", 2, checkpoint_id=B, person_id=person(2)),
        checkpoint_scan("p4", 3, checkpoint_id=B, person_id=None),
    ]

    assert keys_of(in_order(records), "impossible-travel") == []


def test_a_venue_scan_uses_the_venue_coordinates_at_its_time() -> None:
    records = [
        venue(0, "v-a", lat=30.0206, lon=103.0633),
        venue_scan("p1", 10, venue_id="v-a"),
        venue(11, "v-a", lat=29.9428, lon=103.0450),
        checkpoint_scan("p2", 12, checkpoint_id=A),
    ]

    assert keys_of(in_order(records), "impossible-travel") == []


def entry(event_id: str = "in1", at: float = 0, **fields: Any) -> Record:
    return checkpoint_scan(event_id, at, travel=travel(star=True), **fields)


def returnees(records: list[Record]) -> list[tuple[Any, ...]]:
    return keys_of(in_order(records), "returnee-untested")


def test_an_untested_returnee_fires_at_the_deadline_about_the_person() -> None:
    (alert,) = of_rule(in_order([entry(), clock("c1", DAY + 601)]), "returnee-untested")

    assert (alert.evidence, alert.event_time, alert.subject, alert.checkpoint_id) == (
        ("in1",),
        time_of(DAY),
        "person",
        A,
    )
    assert alert.person_key == pseudonym(PERSON, KEY) and alert.person_masked is not None


def test_no_alert_until_the_watermark_is_strictly_past_the_deadline() -> None:
    assert returnees([entry(), clock("c1", DAY + 600)]) == []


def test_a_test_sampled_after_entry_and_shown_at_24h_exactly_clears_it() -> None:
    shown = venue_scan("v1", DAY, nat=nat(1))

    assert returnees([entry(), shown, clock("c1", 2 * DAY)]) == []


def test_a_test_shown_one_second_after_24h_does_not_clear_it() -> None:
    shown = venue_scan("v1", DAY + 1, nat=nat(1))

    assert returnees([entry(), shown, clock("c1", 2 * DAY)]) == [
        ("returnee-untested", "critical", ("in1",))
    ]


def test_a_test_sampled_at_entry_does_not_clear_it() -> None:
    records = [entry(nat=nat(0)), venue_scan("v1", HOUR, nat=nat(0)), clock("c1", 2 * DAY)]

    assert returnees(records) == [("returnee-untested", "critical", ("in1",))]


def test_only_risky_inbound_entries_of_known_people_are_followed() -> None:
    records = [
        entry("out1", direction="out"),
        entry("anon", person_id=None),
        checkpoint_scan("safe", 0),
        clock("c1", 2 * DAY),
    ]

    assert returnees(records) == []
