"""Building ``schemas.alerts.Alert`` objects: place fields, subjects, ids, messages.

Called by the rule families when a rule fires. The alert id is
``schemas.alerts.alert_id`` over rule, severity, evidence, event time and the
subject's key (person key, venue, checkpoint, site or incident), so the same
input gives the same id in every process, partition layout and replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rules.context import Context
from rules.reference import VenueInfo
from schemas.alerts import Alert, RuleId, Severity, Subject, alert_id
from schemas.clean import CleanCheckpointScan, CleanScan

__all__ = ["At", "Person", "at_checkpoint", "at_scan", "at_venue", "make_alert"]


@dataclass(frozen=True, slots=True)
class At:
    """Where an alert happened: the place fields of the alert and a label for its message."""

    label: str
    """The place in the message, e.g. ``jinjiguan-toll (inbound)``."""
    checkpoint_id: str | None = None
    venue_id: str | None = None
    site_id: str | None = None
    incident_id: str | None = None
    grid: str | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """The person of a person alert: pseudonym and masked ID."""

    key: str
    masked: str | None


def at_checkpoint(ctx: Context, checkpoint_id: str, direction: str | None = None) -> At:
    """A checkpoint (its configured grid, if any); ``direction`` goes into the label."""
    place = ctx.places.get(checkpoint_id)
    label = checkpoint_id
    if direction is not None:
        label += " (inbound)" if direction == "in" else " (outbound)"
    return At(label, checkpoint_id=checkpoint_id, grid=None if place is None else place.grid)


def at_venue(venue_id: str, venue: VenueInfo | None) -> At:
    """A venue, with its grid when registered."""
    return At(venue_id, venue_id=venue_id, grid=None if venue is None else venue.grid)


def at_scan(ctx: Context, scan: CleanScan, venue: VenueInfo | None) -> At:
    """The place of a scan; ``venue`` is the venue's attributes at the scan's time."""
    if isinstance(scan, CleanCheckpointScan):
        return at_checkpoint(ctx, scan.checkpoint_id, scan.direction)
    return at_venue(scan.venue_id, venue)


def _subject_key(subject: Subject, at: At, person: Person | None) -> str:
    key = {
        "person": None if person is None else person.key,
        "venue": at.venue_id,
        "checkpoint": at.checkpoint_id,
        "site": at.site_id,
        "incident": at.incident_id,
    }[subject]
    if key is None:
        raise ValueError(f"an alert about a {subject} needs its id")
    return key


def make_alert(
    rule: RuleId,
    severity: Severity,
    evidence: Sequence[str],
    event_time: datetime,
    subject: Subject,
    at: At,
    message: str,
    person: Person | None = None,
) -> Alert:
    """An alert with its deterministic id; ``person`` only for person subjects' fields."""
    ordered = tuple(sorted(evidence))
    return Alert(
        alert_id=alert_id(rule, severity, ordered, event_time, _subject_key(subject, at, person)),
        rule=rule,
        severity=severity,
        subject=subject,
        event_time=event_time,
        evidence=ordered,
        checkpoint_id=at.checkpoint_id,
        venue_id=at.venue_id,
        site_id=at.site_id,
        incident_id=at.incident_id,
        grid=at.grid,
        person_key=None if person is None else person.key,
        person_masked=None if person is None else person.masked,
        message=message,
    )
