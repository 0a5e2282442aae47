"""The engine's deadline rules on patrol events: response SLA, patrol gap, inspection escalation."""

from __future__ import annotations

from typing import Any

from tests.oracle.builders import (
    DAY,
    HOUR,
    checkin,
    clock,
    incident,
    inspection,
    stage,
    time_of,
)
from tests.unit.rules_support import in_order, of_rule

Record = dict[str, Any]
END = 3000  # a clock event well past every SLA deadline, short of any patrol gap


def breaches(*records: Record) -> list[tuple[Any, ...]]:
    alerts = of_rule(
        in_order([incident("r1", 0), *records, clock("end", END)]), "response-sla-breach"
    )
    return [(a.evidence, a.event_time, a.incident_id) for a in alerts]


def breach_at(seconds: float) -> list[tuple[Any, ...]]:
    return [(("r1",), time_of(seconds), "inc-1")]


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


def test_a_stage_ordered_before_the_report_counts() -> None:
    records = [stage("z", -5, "resolved"), incident("r1", 0), clock("end", END)]

    assert of_rule(in_order(records), "response-sla-breach") == []


def test_stages_of_another_incident_do_not_count() -> None:
    assert breaches(stage("z", 10, "resolved", incident_id="inc-2")) == breach_at(60)


def test_no_breach_before_the_watermark_passes_the_deadline() -> None:
    records = [incident("r1", 0), clock("end", 660)]

    assert of_rule(in_order(records), "response-sla-breach") == []


def gaps(records: list[Record], site: str = "jinjiguan-toll") -> list[tuple[Any, ...]]:
    alerts = [a for a in of_rule(in_order(records), "patrol-gap") if a.site_id == site]
    return [(a.evidence, a.event_time) for a in alerts]


def test_a_check_in_exactly_two_hours_later_is_no_gap() -> None:
    assert gaps([checkin("k1", 0), checkin("k2", 2 * HOUR), clock("end", 3 * HOUR)]) == []


def test_a_check_in_one_second_past_two_hours_is_one_gap() -> None:
    records = [checkin("k1", 0), checkin("k2", 2 * HOUR + 1), clock("end", 3 * HOUR)]

    assert gaps(records) == [(("k1",), time_of(2 * HOUR))]


def test_a_long_gap_is_one_alert_and_the_clock_restarts_at_the_next_check_in() -> None:
    records = [checkin("k1", 0), checkin("k2", 10 * HOUR), clock("end", 12 * HOUR + 601)]

    assert gaps(records) == [(("k1",), time_of(2 * HOUR)), (("k2",), time_of(12 * HOUR))]


def test_a_site_never_checked_in_counts_from_the_first_patrol_event() -> None:
    records = [incident("r1", 0), checkin("k1", HOUR, "caoba-toll"), clock("end", 2 * HOUR + 601)]

    (alert,) = [a for a in of_rule(in_order(records), "patrol-gap") if a.site_id == "bus-station"]
    assert (alert.evidence, alert.event_time, alert.subject) == ((), time_of(2 * HOUR), "site")
    assert gaps(records, "caoba-toll") == []


def test_no_patrol_gap_before_the_watermark_passes_it() -> None:
    assert gaps([checkin("k1", 0), clock("end", 2 * HOUR + 600)]) == []


def test_no_patrol_gap_without_patrol_events() -> None:
    assert of_rule(in_order([clock("c1", 0), clock("end", DAY)]), "patrol-gap") == []


def escalations(records: list[Record]) -> list[tuple[Any, ...]]:
    alerts = of_rule(in_order(records), "inspection-failed")
    return [(a.evidence, a.event_time, a.venue_id) for a in alerts if a.severity == "critical"]


def test_a_reinspection_at_24h_exactly_prevents_the_escalation() -> None:
    records = [inspection("i1", 0), inspection("i2", DAY, passed=True), clock("end", 2 * DAY)]

    assert escalations(records) == []


def test_a_reinspection_one_second_late_escalates_at_the_deadline() -> None:
    records = [inspection("i1", 0), inspection("i2", DAY + 1, passed=True), clock("end", 2 * DAY)]

    assert escalations(records) == [(("i1",), time_of(DAY), "v-1")]


def test_an_inspection_of_another_target_does_not_count() -> None:
    records = [inspection("i1", 0), inspection("i2", HOUR, "v-2", True), clock("end", 2 * DAY)]

    assert escalations(records) == [(("i1",), time_of(DAY), "v-1")]


def test_a_failed_reinspection_closes_the_first_and_opens_its_own() -> None:
    records = [inspection("i1", 0), inspection("i2", HOUR), clock("end", 2 * DAY)]

    assert escalations(records) == [(("i2",), time_of(DAY + HOUR), "v-1")]


def test_no_escalation_before_the_watermark_passes_the_deadline() -> None:
    assert escalations([inspection("i1", 0), clock("end", DAY + 600)]) == []
