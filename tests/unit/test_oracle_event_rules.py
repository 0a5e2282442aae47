"""The oracle's per-event rules, at the boundaries of their thresholds."""

from __future__ import annotations

import pytest

from tests.oracle import run_rules
from tests.oracle.builders import (
    PERSON,
    checkpoint_scan,
    incident,
    inspection,
    keys_of,
    of_rule,
    purchase,
    risk_area,
    travel,
    venue,
    venue_scan,
)


@pytest.mark.parametrize(
    ("temperature", "expected"),
    [(37.2, []), (37.3, ["warning"]), (38.4, ["warning"]), (38.5, ["critical"])],
)
def test_fever_thresholds(temperature: float, expected: list[str]) -> None:
    alerts = run_rules([checkpoint_scan("e1", 0, temperature_c=temperature)])

    assert [a.severity for a in of_rule(alerts, "fever")] == expected


def test_fever_is_not_judged_without_a_temperature() -> None:
    assert run_rules([venue(0), venue_scan("e1", 10, temperature_c=None)]) == []


@pytest.mark.parametrize(("code", "severity"), [("yellow", "warning"), ("red", "critical")])
def test_abnormal_health_code(code: str, severity: str) -> None:
    alerts = run_rules([venue_scan("e1", 0, health_code=code)])

    assert [(a.key, a.subject_id) for a in alerts] == [
        (("health-code-abnormal", severity, ("e1",)), PERSON)
    ]


def test_no_code_names_the_place() -> None:
    alerts = run_rules([checkpoint_scan("e1", 0, health_code="none", person_id=None)])

    assert [(a.key, a.subject_type, a.subject_id) for a in alerts] == [
        (("no-code", "warning", ("e1",)), "checkpoint", "jinjiguan-toll")
    ]


@pytest.mark.parametrize(("direction", "severity"), [("in", "critical"), ("out", "warning")])
def test_starred_travel_at_a_checkpoint(direction: str, severity: str) -> None:
    scan = checkpoint_scan("e1", 0, direction=direction, travel=travel(star=True))

    assert keys_of(run_rules([scan]), "risk-area-visitor") == [
        ("risk-area-visitor", severity, ("e1",))
    ]


def test_risky_travel_at_a_venue_is_a_warning_and_no_travel_never_fires() -> None:
    events = [
        risk_area(0, "510107", "high"),
        venue_scan("e1", 10, travel=travel("440106", "510107")),
        venue_scan("e2", 20),
    ]

    assert keys_of(run_rules(events), "risk-area-visitor") == [
        ("risk-area-visitor", "warning", ("e1",))
    ]


def test_an_area_listed_after_the_scan_does_not_count() -> None:
    events = [checkpoint_scan("e1", 10, travel=travel("510107")), risk_area(11, "510107", "high")]

    assert keys_of(run_rules(events), "risk-area-visitor") == []


def test_risky_travel_without_a_person_names_the_place() -> None:
    scan = checkpoint_scan("e1", 0, person_id=None, travel=travel(star=True))

    alert = of_rule(run_rules([scan]), "risk-area-visitor")[0]
    assert (alert.subject_type, alert.subject_id) == ("checkpoint", "jinjiguan-toll")


@pytest.mark.parametrize(("registered", "severity"), [(True, "info"), (False, "warning")])
def test_pharmacy_fever_purchase(registered: bool, severity: str) -> None:
    events = [venue(0), venue_scan("e1", 10, purchase=purchase("antiviral", registered))]

    assert keys_of(run_rules(events), "pharmacy-fever-purchase") == [
        ("pharmacy-fever-purchase", severity, ("e1",))
    ]


def test_other_purchases_and_non_pharmacies_do_not_fire() -> None:
    events = [
        venue(0, "v-1"),
        venue(0, "v-2", type="supermarket"),
        venue_scan("e1", 10, venue_id="v-1", purchase=purchase("other", True)),
        venue_scan("e2", 10, venue_id="v-2", purchase=purchase("fever", True)),
        venue_scan("e3", 10, venue_id="v-unregistered", purchase=purchase("fever", True)),
    ]

    assert keys_of(run_rules(events), "pharmacy-fever-purchase") == []


def test_a_venue_reopened_is_open_again() -> None:
    events = [
        venue(0, status="closed"),
        venue_scan("e1", 10),
        venue(20, status="open"),
        venue_scan("e2", 30),
    ]

    assert keys_of(run_rules(events), "closed-venue-activity") == [
        ("closed-venue-activity", "critical", ("e1",))
    ]


@pytest.mark.parametrize(
    ("incident_type", "fires"),
    [("rumor", True), ("illegal_vaccine", True), ("gathering", False), ("dispute", False)],
)
def test_police_incident_types(incident_type: str, fires: bool) -> None:
    alerts = run_rules([incident("r1", 0, "inc-7", incident_type)])

    expected = [("police-incident", "warning", ("r1",))] if fires else []
    assert keys_of(alerts, "police-incident") == expected


def test_a_failed_inspection_is_a_warning_about_its_target() -> None:
    alerts = run_rules([inspection("i1", 0, "hotel-9"), inspection("i2", 10, "hotel-8", True)])

    assert [(a.key, a.subject_id) for a in alerts] == [
        (("inspection-failed", "warning", ("i1",)), "hotel-9")
    ]
