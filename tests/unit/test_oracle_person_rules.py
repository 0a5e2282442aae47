"""The oracle's person rules: impossible-travel and returnee-untested."""

from __future__ import annotations

from typing import Any

from tests.oracle import run_rules
from tests.oracle.builders import (
    DAY,
    HOUR,
    PERSON,
    checkpoint_scan,
    clock,
    keys_of,
    nat,
    of_rule,
    person,
    time_of,
    travel,
    venue,
    venue_scan,
)

Event = dict[str, Any]
# jinjiguan-toll to fengming-toll: 8.829 km, 211.9 s at exactly 150 km/h.
A, B = "jinjiguan-toll", "fengming-toll"
KM_PER_DEGREE = 6371.0 * 3.141592653589793 / 180


def test_travel_just_over_150_kmh_is_impossible() -> None:
    events = [
        checkpoint_scan("p1", 0, checkpoint_id=A),
        checkpoint_scan("p2", 211, checkpoint_id=B),
    ]

    alerts = of_rule(run_rules(events), "impossible-travel")
    assert [(a.key, a.event_time, a.subject_id) for a in alerts] == [
        (("impossible-travel", "warning", ("p1", "p2")), time_of(211), PERSON)
    ]


def test_travel_just_under_150_kmh_is_possible() -> None:
    events = [
        checkpoint_scan("p1", 0, checkpoint_id=A),
        checkpoint_scan("p2", 212, checkpoint_id=B),
    ]

    assert keys_of(run_rules(events), "impossible-travel") == []


def two_venues_apart(km: float) -> list[Event]:
    return [venue(0, "v-a", lat=30.0, lon=103.0), venue(0, "v-b", lat=30.0 + km / KM_PER_DEGREE)]


def test_at_the_same_instant_any_distance_of_5_km_is_impossible() -> None:
    scans = [venue_scan("p1", 10, venue_id="v-a"), venue_scan("p2", 10, venue_id="v-b")]

    assert keys_of(run_rules(two_venues_apart(5.01) + scans), "impossible-travel") == [
        ("impossible-travel", "warning", ("p1", "p2"))
    ]
    assert keys_of(run_rules(two_venues_apart(4.99) + scans), "impossible-travel") == []


def test_it_compares_with_the_previous_scan_only() -> None:
    events = [
        checkpoint_scan("p1", 0, checkpoint_id=A),
        checkpoint_scan("p2", HOUR, checkpoint_id=B),
        checkpoint_scan("p3", HOUR + 1, checkpoint_id=A),
    ]

    assert keys_of(run_rules(events), "impossible-travel") == [
        ("impossible-travel", "warning", ("p2", "p3"))
    ]


def test_unknown_coordinates_and_other_people_are_not_checked() -> None:
    events = [
        checkpoint_scan("p1", 0, checkpoint_id=A),
        venue_scan("p2", 1, venue_id="v-unregistered"),
        checkpoint_scan("p3", 2, checkpoint_id=B, person_id=person(2)),
        checkpoint_scan("p4", 3, checkpoint_id=B, person_id=None),
        checkpoint_scan("p5", 4, checkpoint_id=A, person_id=None),
    ]

    assert keys_of(run_rules(events), "impossible-travel") == []


def test_a_venue_scan_uses_the_venue_coordinates_at_its_time() -> None:
    events = [
        venue(0, "v-a", lat=30.0206, lon=103.0633),  # beside jinjiguan-toll
        venue_scan("p1", 10, venue_id="v-a"),
        venue(11, "v-a", lat=29.9428, lon=103.0450),  # re-registered beside fengming-toll
        checkpoint_scan("p2", 12, checkpoint_id=A),
    ]

    assert keys_of(run_rules(events), "impossible-travel") == []


def entry(event_id: str = "in1", at: float = 0, **fields: Any) -> Event:
    return checkpoint_scan(event_id, at, travel=travel(star=True), **fields)


def returnee_keys(events: list[Event]) -> list[tuple[Any, ...]]:
    return keys_of(run_rules(events), "returnee-untested")


def test_an_untested_returnee_fires_at_the_deadline() -> None:
    alerts = of_rule(run_rules([entry(), clock("c1", DAY + 601)]), "returnee-untested")

    assert [(a.key, a.event_time) for a in alerts] == [
        (("returnee-untested", "critical", ("in1",)), time_of(DAY))
    ]


def test_no_alert_before_the_stream_passes_the_deadline() -> None:
    assert returnee_keys([entry(), clock("c1", DAY + 600)]) == []


def test_a_test_sampled_after_entry_and_shown_within_24h_clears_it() -> None:
    later = venue_scan("v1", DAY, nat=nat(HOUR))

    assert returnee_keys([entry(), later, clock("c1", 2 * DAY)]) == []


def test_a_test_shown_after_the_24h_does_not_clear_it() -> None:
    late_show = venue_scan("v1", DAY + 1, nat=nat(HOUR))

    assert returnee_keys([entry(), late_show, clock("c1", 2 * DAY)]) == [
        ("returnee-untested", "critical", ("in1",))
    ]


def test_a_test_sampled_at_or_before_entry_does_not_clear_it() -> None:
    events = [entry(nat=nat(-HOUR)), venue_scan("v1", HOUR, nat=nat(0)), clock("c1", 2 * DAY)]

    assert returnee_keys(events) == [("returnee-untested", "critical", ("in1",))]


def test_only_risky_inbound_entries_of_known_people_are_followed() -> None:
    events = [
        checkpoint_scan("n1", 0),
        entry("n2", 1, direction="out"),
        entry("n3", 2, person_id=None),
        clock("c1", 2 * DAY),
    ]

    assert returnee_keys(events) == []
