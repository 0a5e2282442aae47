"""Per-event rules: the evidence is the one event. Late events still pass through these.

Choice (docs/rules.md names the person as subject of `health-code-abnormal` and `fever`, but
`person_id` may be null): with a null `person_id` the subject is the place, as the table says
for `risk-area-visitor`.
"""

from __future__ import annotations

from collections.abc import Iterator

from tests.oracle.model import (
    MEDICINE_CATEGORIES,
    POLICE_INCIDENT_TYPES,
    Alert,
    Thresholds,
    make_alert,
)
from tests.oracle.stream import SCAN_FEEDS, Record, Stream


def _person_or_place(scan: Record) -> tuple[str, str]:
    person = scan.person_id
    return ("person", person) if person is not None else (scan.place_type, scan.place_id)


def _alert(rule: str, severity: str, event: Record, subject: tuple[str, str]) -> Alert:
    return make_alert(rule, severity, [event.event_id], event.time, *subject)


def _scan_alerts(scan: Record, th: Thresholds) -> Iterator[Alert]:
    data = scan.data
    place = (scan.place_type, scan.place_id)

    if scan.risky_travel:
        inbound = scan.feed == "checkpoint_scan" and data["direction"] == "in"
        severity = "critical" if inbound else "warning"
        yield _alert("risk-area-visitor", severity, scan, _person_or_place(scan))

    code = data["health_code"]
    if code in ("yellow", "red"):
        severity = "warning" if code == "yellow" else "critical"
        yield _alert("health-code-abnormal", severity, scan, _person_or_place(scan))
    elif code == "none":
        yield _alert("no-code", "warning", scan, place)

    temperature = data.get("temperature_c")
    if temperature is not None and temperature >= th.fever_warning_c:
        severity = "critical" if temperature >= th.fever_critical_c else "warning"
        yield _alert("fever", severity, scan, _person_or_place(scan))

    if scan.feed != "venue_scan" or scan.venue is None:
        return  # an unregistered venue has no type and is not closed
    purchase = data.get("purchase")
    if (
        scan.venue.type == "pharmacy"
        and purchase is not None
        and purchase["category"] in MEDICINE_CATEGORIES
    ):
        severity = "info" if purchase["registered"] else "warning"
        yield _alert("pharmacy-fever-purchase", severity, scan, place)
    if scan.venue.status == "closed":
        yield _alert("closed-venue-activity", "critical", scan, place)


def _patrol_alerts(event: Record) -> Iterator[Alert]:
    data = event.data
    if event.kind == "incident_reported" and data["incident_type"] in POLICE_INCIDENT_TYPES:
        yield _alert("police-incident", "warning", event, ("incident", data["incident_id"]))
    if event.kind == "inspection" and data["inspection"]["passed"] is False:
        target = data["inspection"]["target_id"]
        yield _alert("inspection-failed", "warning", event, ("venue", target))


def per_event_alerts(stream: Stream, th: Thresholds) -> list[Alert]:
    alerts: list[Alert] = []
    for record in stream.records:  # late events included
        if record.feed in SCAN_FEEDS:
            alerts.extend(_scan_alerts(record, th))
        elif record.feed == "patrol_event":
            alerts.extend(_patrol_alerts(record))
    return alerts
