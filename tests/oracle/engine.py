"""`run_rules`: every rule of docs/rules.md over one finished batch of records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.oracle.model import Alert, Thresholds
from tests.oracle.rules_event import per_event_alerts
from tests.oracle.rules_patrol import inspection_escalation, patrol_gap, response_sla_breach
from tests.oracle.rules_person import impossible_travel, returnee_untested
from tests.oracle.rules_window import checkpoint_surge, crowding, venue_noncompliance
from tests.oracle.stream import prepare

RULE_FAMILIES = (
    per_event_alerts,
    venue_noncompliance,
    crowding,
    checkpoint_surge,
    impossible_travel,
    returnee_untested,
    response_sla_breach,
    patrol_gap,
    inspection_escalation,
)


DEFAULT_THRESHOLDS = Thresholds()


def run_rules(
    events: Iterable[dict[str, Any]], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> list[Alert]:
    """The alerts of docs/rules.md for `events` (valid records of all five feeds, in arrival
    order, i.e. the order of the event file), sorted by (event_time, rule, severity, evidence).
    """
    stream = prepare(events, thresholds.allowed_lateness_s)
    alerts = [alert for family in RULE_FAMILIES for alert in family(stream, thresholds)]
    return sorted(
        alerts,
        key=lambda a: (a.event_time, a.rule, a.severity, a.evidence, a.subject_type, a.subject_id),
    )
