"""The oracle's deadline rules on patrol events: response SLA, patrol gap, inspection escalation."""

from __future__ import annotations

from typing import Any

from tests.oracle import Alert, run_rules
from tests.oracle.builders import (
    DAY,
    HOUR,
    checkin,
    clock,
    incident,
    inspection,
    of_rule,
    stage,
    time_of,
)

Event = dict[str, Any]
END = 3000  # a clock event well past every SLA deadline, short of any patrol gap


def breaches(*events: Event) -> list[tuple[Any, ...]]:
    alerts = of_rule(
        run_rules([incident("r1", 0), *events, clock("end", END)]), "response-sla-breach"
    )
    return [(a.key, a.event_time, a.subject_id) for a in alerts]


def breach_at(seconds: float) -> list[tuple[Any, ...]]:
    return [(("response-sla-breach", "critical", ("r1",)), time_of(seconds), "inc-1")]


def test_one_three_five_met_exactly_on_the_deadlines() -> None:
    met = [stage("d", 60, "dispatched"), stage("a", 180, "arrived"), stage("z", 300, "resolved")]

    assert breaches(*met) == []


def test_dispatch_one_second_late_is_a_breach_at_the_dispatch_deadline() -> None:
    late = [stage("d", 61, "dispatched"), stage("a", 62, "arrived"), stage("z", 63, "resolved")]

    assert breaches(*late) == breach_at(60)


def test_a_later_stage_meets_the_earlier_ones() -> None:
    assert breaches(stage("a", 50, "arrived"), stage("z", 300, "resolved")) == []


def test_only_the_earliest_missed_stage_fires() -> None:
    assert breaches() == breach_at(60)
    assert breaches(stage("d", 10, "dispatched")) == breach_at(180)
    assert breaches(stage("a", 10, "arrived"), stage("z", 301, "resolved")) == breach_at(300)


def test_stages_of_another_incident_do_not_count() -> None:
    assert breaches(stage("z", 10, "resolved", incident_id="inc-2")) == breach_at(60)


def gaps(events: list[Event], site: str = "jinjiguan-toll") -> list[Alert]:
    return [a for a in of_rule(run_rules(events), "patrol-gap") if a.subject_id == site]


def test_a_check_in_exactly_two_hours_later_is_no_gap() -> None:
    events = [checkin("k1", 0), checkin("k2", 2 * HOUR), clock("end", 3 * HOUR)]

    assert gaps(events) == []


def test_a_check_in_one_second_past_two_hours_is_one_gap() -> None:
    events = [checkin("k1", 0), checkin("k2", 2 * HOUR + 1), clock("end", 3 * HOUR)]

    assert [(a.key, a.event_time) for a in gaps(events)] == [
        (("patrol-gap", "warning", ("k1",)), time_of(2 * HOUR))
    ]


def test_a_long_gap_is_one_alert_and_the_clock_restarts_at_the_next_check_in() -> None:
    events = [checkin("k1", 0), checkin("k2", 10 * HOUR), clock("end", 12 * HOUR + 601)]

    assert [(a.key, a.event_time) for a in gaps(events)] == [
        (("patrol-gap", "warning", ("k1",)), time_of(2 * HOUR)),
        (("patrol-gap", "warning", ("k2",)), time_of(12 * HOUR)),
    ]


def test_a_site_never_checked_in_counts_from_the_first_patrol_event() -> None:
    events = [incident("r1", 0), checkin("k1", HOUR, "caoba-toll"), clock("end", 2 * HOUR + 601)]

    alerts = gaps(events, "bus-station")
    assert [(a.key, a.event_time, a.subject_type) for a in alerts] == [
        (("patrol-gap", "warning", ()), time_of(2 * HOUR), "site")
    ]
    assert gaps(events, "caoba-toll") == []


def test_no_patrol_gap_before_the_stream_passes_it() -> None:
    assert gaps([checkin("k1", 0), clock("end", 2 * HOUR + 600)]) == []


def test_no_patrol_gap_without_patrol_events() -> None:
    assert of_rule(run_rules([clock("c1", 0), clock("end", DAY)]), "patrol-gap") == []


def escalations(events: list[Event]) -> list[tuple[Any, ...]]:
    alerts = of_rule(run_rules(events), "inspection-failed")
    return [(a.key, a.event_time) for a in alerts if a.severity == "critical"]


def test_a_reinspection_within_24h_prevents_the_escalation() -> None:
    events = [inspection("i1", 0), inspection("i2", DAY, passed=True), clock("end", 2 * DAY)]

    assert escalations(events) == []


def test_a_reinspection_one_second_late_escalates_at_the_deadline() -> None:
    events = [inspection("i1", 0), inspection("i2", DAY + 1, passed=True), clock("end", 2 * DAY)]

    assert escalations(events) == [(("inspection-failed", "critical", ("i1",)), time_of(DAY))]


def test_an_inspection_of_another_target_does_not_count() -> None:
    events = [inspection("i1", 0), inspection("i2", HOUR, "v-2", True), clock("end", 2 * DAY)]

    assert escalations(events) == [(("inspection-failed", "critical", ("i1",)), time_of(DAY))]


def test_no_escalation_before_the_stream_passes_the_deadline() -> None:
    assert escalations([inspection("i1", 0), clock("end", DAY + 600)]) == []
