"""The per-event rules of docs/rules.md: each alert's evidence is the one event.

Two kinds, by what their verdict depends on (docs/watermark.md, "Two paths"; the
catalogue's ``detection`` of each rule, ``schemas.catalogue``, names which, and
tests/unit/test_catalogue.py checks the engine raises exactly those on arrival):

- **Immediate**: ``health-code-abnormal``, ``no-code``, ``fever`` (scans),
  ``police-incident`` and ``inspection-failed`` warning (patrol events): the
  verdict depends on the event alone, so no later input can change it. The
  engine runs them when a copy *arrives* (``FamilyRules.on_arrival``), late or
  not, without waiting for the watermark. The place in their alert (a venue's
  name and grid) is the venue register as known on arrival.
- **Reference**: ``risk-area-visitor``, ``pharmacy-fever-purchase``,
  ``closed-venue-activity``: the verdict needs the risk-area list or the venue
  register at the event's time, which may still arrive within the allowed
  lateness; they run in order (``on_event``), and for late events
  (``on_late``).

Called by the family that owns each event: checkpoint scans by
``rules.checkpoints``, venue scans by ``rules.venues``, incident reports by
``rules.incidents``, inspections by ``rules.inspections``.

Subject: the person for ``risk-area-visitor``, ``health-code-abnormal`` and
``fever``, or the place when the scan has no person (as the oracle chose);
the place for the rest.
"""

from __future__ import annotations

from rules.alerting import At, Person, at_scan, at_venue, make_alert
from rules.context import Context
from rules.reference import VenueInfo
from schemas.alerts import Severity, Subject
from schemas.clean import CleanCheckpointScan, CleanScan, CleanVenueScan
from schemas.feeds import PatrolEvent

__all__ = [
    "patrol_alerts",
    "scan_alerts",
    "scan_immediate_alerts",
    "scan_person",
]


def scan_person(scan: CleanScan) -> Person | None:
    """The scan's person, or None when it has no ``person_key``."""
    if scan.person_key is None:
        return None
    return Person(scan.person_key, scan.person_masked)


def _place_subject(scan: CleanScan) -> Subject:
    return "checkpoint" if isinstance(scan, CleanCheckpointScan) else "venue"


def _subject(scan: CleanScan) -> tuple[Person | None, Subject]:
    person = scan_person(scan)
    return person, "person" if person is not None else _place_subject(scan)


def scan_immediate_alerts(ctx: Context, scan: CleanScan, venue: VenueInfo | None) -> None:
    """The immediate rules of one scan (``health-code-abnormal``, ``no-code``, ``fever``);
    ``venue`` is its venue's attributes as known (only the alert's place uses them).

    Most scans raise nothing, so the checks come first and an ``At`` is built
    only when something fires.
    """
    code = scan.health_code
    temperature = scan.temperature_c
    fever = temperature is not None and temperature >= ctx.thresholds.fever_warning_c
    if code == "green" and not fever:
        return
    at = at_scan(ctx, scan, venue)
    person, subject = _subject(scan)
    ids, when = (scan.event_id,), scan.event_time
    if code in ("yellow", "red"):
        severity: Severity = "warning" if code == "yellow" else "critical"
        message = f"{code} health code at {at.label}"
        ctx.alerts.append(
            make_alert("health-code-abnormal", severity, ids, when, subject, at, message, person)
        )
    elif code == "none":
        place = _place_subject(scan)
        message = f"no health code at {at.label}"
        ctx.alerts.append(make_alert("no-code", "warning", ids, when, place, at, message))
    if fever and temperature is not None:
        hot: Severity = "critical" if temperature >= ctx.thresholds.fever_critical_c else "warning"
        message = f"fever {temperature:.1f} °C at {at.label}"
        ctx.alerts.append(make_alert("fever", hot, ids, when, subject, at, message, person))


def scan_alerts(ctx: Context, scan: CleanScan, time: int, venue: VenueInfo | None) -> None:
    """The reference rules of one scan; ``venue`` is its venue's attributes at ``time``."""
    if ctx.reference.risky(scan.travel, time):
        at = at_scan(ctx, scan, venue)
        person, subject = _subject(scan)
        inbound = isinstance(scan, CleanCheckpointScan) and scan.direction == "in"
        travel = scan.travel
        why = "star on the travel code" if travel is not None and travel.star else "risk area"
        ctx.alerts.append(
            make_alert(
                "risk-area-visitor",
                "critical" if inbound else "warning",
                (scan.event_id,),
                scan.event_time,
                subject,
                at,
                f"risky travel ({why}) at {at.label}",
                person,
            )
        )
    if venue is not None and isinstance(scan, CleanVenueScan):
        _venue_rules(ctx, scan, venue)


def _venue_rules(ctx: Context, scan: CleanVenueScan, venue: VenueInfo) -> None:
    purchase = scan.purchase
    medicine = (
        venue.type == "pharmacy"
        and purchase is not None
        and purchase.category in ctx.thresholds.medicine_categories
    )
    if not medicine and venue.status != "closed":
        return
    at = at_venue(scan.venue_id, venue)
    ids, when = (scan.event_id,), scan.event_time
    if medicine and purchase is not None:
        registered = purchase.registered
        message = (
            f"{'registered' if registered else 'unregistered'} {purchase.category} "
            f"medicine purchase at {at.label}"
        )
        severity: Severity = "info" if registered else "warning"
        ctx.alerts.append(
            make_alert("pharmacy-fever-purchase", severity, ids, when, "venue", at, message)
        )
    if venue.status == "closed":
        message = f"scan at closed venue {at.label}"
        ctx.alerts.append(
            make_alert("closed-venue-activity", "critical", ids, when, "venue", at, message)
        )


def patrol_alerts(ctx: Context, event: PatrolEvent, time: int) -> None:
    """``police-incident`` for a report of a police type, ``inspection-failed`` (warning)."""
    ids, when = (event.event_id,), event.event_time
    if event.kind == "incident_reported" and event.incident_id is not None:
        if event.incident_type in ctx.thresholds.police_incident_types:
            at = At(event.incident_id, incident_id=event.incident_id)
            message = f"{event.incident_type} incident {event.incident_id} reported"
            ctx.alerts.append(
                make_alert("police-incident", "warning", ids, when, "incident", at, message)
            )
    elif event.kind == "inspection" and event.inspection is not None:
        inspection = event.inspection
        if inspection.passed is False:
            venue = ctx.reference.venue_at(inspection.target_id, time)
            at = at_venue(inspection.target_id, venue)
            issues = "; ".join(inspection.issues) or "no issues listed"
            message = f"{at.label} failed inspection ({issues})"
            ctx.alerts.append(
                make_alert("inspection-failed", "warning", ids, when, "venue", at, message)
            )
