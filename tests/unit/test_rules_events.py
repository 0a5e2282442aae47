"""The engine's per-event rules at the boundaries of their thresholds (records in order)."""

from __future__ import annotations

import pytest

from schemas.identity import pseudonym
from tests.oracle.builders import (
    PERSON,
    checkpoint_scan,
    incident,
    inspection,
    purchase,
    risk_area,
    time_of,
    travel,
    venue,
    venue_scan,
)
from tests.unit.rules_support import KEY, in_order, keys_of, of_rule


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [(37.2, []), (37.3, ["warning"]), (38.4, ["warning"]), (38.5, ["critical"])],
)
def test_fever_thresholds(temperature: float, expected: list[str]) -> None:
    alerts = in_order([checkpoint_scan("e1", 0, temperature_c=temperature)])

    assert [a.severity for a in of_rule(alerts, "fever")] == expected


def test_fever_alert_reads_well_and_names_the_person() -> None:
    (alert,) = in_order([checkpoint_scan("e1", 0, temperature_c=38.9)])

    assert alert.message == "fever 38.9 °C at jinjiguan-toll (inbound)"
    assert alert.person_key == pseudonym(PERSON, KEY)
    assert alert.person_masked == PERSON[0] + "*" * 15 + PERSON[-2:]
    assert (alert.subject, alert.checkpoint_id, alert.event_time) == (
        "person",
        "jinjiguan-toll",
        time_of(0),
    )


def test_no_temperature_is_no_fever() -> None:
    assert in_order([venue(0), venue_scan("e1", 10, temperature_c=None)]) == []


@pytest.mark.parametrize(("code", "severity"), [("yellow", "warning"), ("red", "critical")])
def test_abnormal_health_code(code: str, severity: str) -> None:
    alerts = in_order([venue_scan("e1", 0, health_code=code)])

    assert keys_of(alerts, "health-code-abnormal") == [("health-code-abnormal", severity, ("e1",))]
    assert alerts[0].subject == "person"


def test_no_code_names_the_place_not_the_person() -> None:
    (alert,) = in_order([checkpoint_scan("e1", 0, health_code="none")])

    assert (alert.rule, alert.subject, alert.checkpoint_id) == (
        "no-code",
        "checkpoint",
        "jinjiguan-toll",
    )
    assert alert.person_key is None


@pytest.mark.parametrize(("direction", "severity"), [("in", "critical"), ("out", "warning")])
def test_starred_travel_at_a_checkpoint(direction: str, severity: str) -> None:
    scan = checkpoint_scan("e1", 0, direction=direction, travel=travel(star=True))

    assert keys_of(in_order([scan]), "risk-area-visitor") == [
        ("risk-area-visitor", severity, ("e1",))
    ]


def test_risky_area_at_a_venue_is_a_warning_and_no_travel_never_fires() -> None:
    records = [
        risk_area(0, "510107", "medium"),
        venue_scan("e1", 10, travel=travel("440106", "510107")),
        venue_scan("e2", 20),
    ]

    assert keys_of(in_order(records), "risk-area-visitor") == [
        ("risk-area-visitor", "warning", ("e1",))
    ]


def test_an_area_listed_at_the_scans_instant_counts_and_one_cleared_does_not() -> None:
    records = [
        risk_area(10, "510107", "high"),
        checkpoint_scan("e1", 10, travel=travel("510107")),
        risk_area(20, "510107", "low"),
        checkpoint_scan("e2", 20, travel=travel("510107")),
    ]

    assert keys_of(in_order(records), "risk-area-visitor") == [
        ("risk-area-visitor", "critical", ("e1",))
    ]


def test_an_area_listed_after_the_scan_does_not_count() -> None:
    records = [checkpoint_scan("e1", 10, travel=travel("510107")), risk_area(11, "510107")]

    assert keys_of(in_order(records), "risk-area-visitor") == []


def test_risky_travel_without_a_person_names_the_place() -> None:
    scan = checkpoint_scan("e1", 0, person_id=None, travel=travel(star=True))

    (alert,) = of_rule(in_order([scan]), "risk-area-visitor")
    assert (alert.subject, alert.checkpoint_id, alert.person_key) == (
        "checkpoint",
        "jinjiguan-toll",
        None,
    )


@pytest.mark.parametrize(("registered", "severity"), [(True, "info"), (False, "warning")])
def test_pharmacy_fever_purchase(registered: bool, severity: str) -> None:
    records = [venue(0), venue_scan("e1", 10, purchase=purchase("antiviral", registered))]

    (alert,) = of_rule(in_order(records), "pharmacy-fever-purchase")
    assert (alert.severity, alert.subject, alert.venue_id, alert.grid) == (
        severity,
        "venue",
        "v-1",
        "qingjiang-1",
    )


def test_other_purchases_non_pharmacies_and_unregistered_venues_do_not_fire() -> None:
    records = [
        venue(0, "v-1"),
        venue(0, "v-2", type="supermarket"),
        venue_scan("e1", 10, venue_id="v-1", purchase=purchase("other", False)),
        venue_scan("e2", 10, venue_id="v-2", purchase=purchase("fever", False)),
        venue_scan("e3", 10, venue_id="v-unregistered", purchase=purchase("fever", False)),
    ]

    assert keys_of(in_order(records), "pharmacy-fever-purchase") == []


def test_closed_from_its_instant_and_open_again_from_the_reopening() -> None:
    records = [
        venue(0, status="closed"),
        venue_scan("e0", 0),
        venue(20, status="open"),
        venue_scan("e1", 20),
    ]

    assert keys_of(in_order(records), "closed-venue-activity") == [
        ("closed-venue-activity", "critical", ("e0",))
    ]


@pytest.mark.parametrize(
    ("incident_type", "fires"),
    [("rumor", True), ("counterfeit_goods", True), ("gathering", False), ("other", False)],
)
def test_police_incident_types(incident_type: str, fires: bool) -> None:
    alerts = in_order([incident("r1", 0, "inc-7", incident_type)])

    expected = [("police-incident", "warning", ("r1",))] if fires else []
    assert keys_of(alerts, "police-incident") == expected


def test_a_failed_inspection_is_a_warning_about_its_target_with_its_grid() -> None:
    records = [
        venue(0, "hotel-9", type="hotel", grid="bifengxia-3"),
        inspection("i1", 10, "hotel-9"),
    ]

    (alert,) = in_order(records)
    assert (alert.rule, alert.severity, alert.venue_id, alert.grid) == (
        "inspection-failed",
        "warning",
        "hotel-9",
        "bifengxia-3",
    )


def test_a_passed_inspection_raises_nothing() -> None:
    assert in_order([inspection("i1", 0, "hotel-8", passed=True)]) == []
