"""Clean events, alerts and dead letters as rows of the sink's tables.

Called by the ``Batcher`` (``add_event``, ``add_alert``, ``add_dead_letter``)
and by tests. Each function returns one tuple in the column order of
``sinks.ddl.COLUMNS[table]``: times as epoch seconds (``int``) plus their
milliseconds, booleans as 0/1, an absent text field as ``''``, an absent
number, boolean or time as ``None``, an absent list as ``[]``. Only the
pseudonymised models of ``schemas`` are accepted, so a raw ID or phone number
has no way into a row. Pure functions: no I/O, no failure for valid models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from schemas.alert_state import AlertState
from schemas.alerts import Alert
from schemas.clean import CleanCheckpointScan, CleanEvent, CleanVenueScan
from schemas.deadletter import DeadLetter
from schemas.feeds import PatrolEvent, RiskArea, Venue

__all__ = [
    "FEED_TABLES",
    "Row",
    "alert_action_row",
    "alert_row",
    "checkpoint_scan_row",
    "dead_letter_row",
    "event_row",
    "patrol_event_row",
    "risk_area_row",
    "venue_row",
    "venue_scan_row",
]

Row = tuple[Any, ...]
"""One row of a table, in the order of its columns."""

FEED_TABLES: Final[dict[str, str]] = {
    "checkpoint_scan": "checkpoint_scans",
    "venue_scan": "venue_scans",
    "patrol_event": "patrol_events",
    "risk_area": "risk_areas",
    "venue": "venues",
}
"""The table of each feed."""


def _seconds(time: datetime) -> int:
    return int(time.timestamp())


def _ms(time: datetime) -> int:
    return time.microsecond // 1000


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def checkpoint_scan_row(scan: CleanCheckpointScan) -> Row:
    """The ``checkpoint_scans`` row of a pseudonymised checkpoint scan."""
    nat = scan.nat
    return (
        scan.event_id,
        _seconds(scan.event_time),
        _ms(scan.event_time),
        scan.checkpoint_id,
        scan.direction,
        scan.person_key or "",
        scan.person_masked or "",
        scan.phone_masked or "",
        scan.plate or "",
        scan.temperature_c,
        scan.health_code,
        int(scan.travel.star),
        list(scan.travel.areas),
        "" if nat is None else nat.result,
        None if nat is None else _seconds(nat.sampled_at),
    )


def venue_scan_row(scan: CleanVenueScan) -> Row:
    """The ``venue_scans`` row of a pseudonymised venue scan."""
    nat, travel, purchase = scan.nat, scan.travel, scan.purchase
    return (
        scan.event_id,
        _seconds(scan.event_time),
        _ms(scan.event_time),
        scan.venue_id,
        scan.person_key or "",
        scan.person_masked or "",
        scan.phone_masked or "",
        scan.role,
        scan.health_code,
        scan.temperature_c,
        _flag(scan.mask),
        None if travel is None else int(travel.star),
        [] if travel is None else list(travel.areas),
        "" if nat is None else nat.result,
        None if nat is None else _seconds(nat.sampled_at),
        "" if purchase is None else purchase.category,
        None if purchase is None else int(purchase.registered),
    )


def patrol_event_row(event: PatrolEvent) -> Row:
    """The ``patrol_events`` row of a patrol event (it carries no personal data)."""
    location, inspection = event.location, event.inspection
    return (
        event.event_id,
        _seconds(event.event_time),
        _ms(event.event_time),
        event.unit_id,
        event.kind,
        event.site_id or "",
        event.incident_id or "",
        event.incident_type or "",
        None if location is None else location.lat,
        None if location is None else location.lon,
        "" if inspection is None else inspection.target_id,
        None if inspection is None else int(inspection.passed),
        [] if inspection is None else list(inspection.issues),
    )


def risk_area_row(record: RiskArea) -> Row:
    """The ``risk_areas`` row of a risk-list change."""
    return (
        record.area_code,
        _seconds(record.event_time),
        _ms(record.event_time),
        record.name,
        record.level,
    )


def venue_row(record: Venue) -> Row:
    """The ``venues`` row of a venue-register change."""
    return (
        record.venue_id,
        _seconds(record.event_time),
        _ms(record.event_time),
        record.name,
        record.type,
        record.grid,
        record.lat,
        record.lon,
        record.capacity,
        record.status,
    )


def event_row(event: CleanEvent) -> tuple[str, Row]:
    """The table and row of any clean event; what ``Batcher.add_event`` calls."""
    if isinstance(event, CleanCheckpointScan):
        return "checkpoint_scans", checkpoint_scan_row(event)
    if isinstance(event, CleanVenueScan):
        return "venue_scans", venue_scan_row(event)
    if isinstance(event, PatrolEvent):
        return "patrol_events", patrol_event_row(event)
    if isinstance(event, RiskArea):
        return "risk_areas", risk_area_row(event)
    return "venues", venue_row(event)


def alert_row(alert: Alert) -> Row:
    """The ``alerts`` row of an alert; an unknown grid is stored as ``''``."""
    return (
        alert.alert_id,
        alert.schema_version,
        alert.rule,
        alert.severity,
        alert.subject,
        _seconds(alert.event_time),
        _ms(alert.event_time),
        list(alert.evidence),
        alert.checkpoint_id or "",
        alert.venue_id or "",
        alert.site_id or "",
        alert.incident_id or "",
        alert.grid or "",
        alert.person_key or "",
        alert.person_masked or "",
        alert.message,
    )


def alert_action_row(state: AlertState, partition: int, offset: int) -> Row:
    """The ``alert_actions`` row of one alert-state record read at ``partition``/``offset``."""
    return (
        state.alert_id,
        state.version,
        state.action_id,
        state.schema_version,
        state.action,
        state.status,
        state.assignee or "",
        state.actor,
        _seconds(state.at),
        _ms(state.at),
        state.note or "",
        partition,
        offset,
    )


def dead_letter_row(letter: DeadLetter) -> Row:
    """The ``dead_letters`` row of a dead letter, payload redacted as the letter holds it.

    ``time`` is the Kafka record's timestamp, so storing a letter twice gives
    the same row. A record without a timestamp (a pre-0.10 producer) is stored
    at 1970-01-01 08:00 with ``has_timestamp`` 0, and is the first that
    retention drops.
    """
    stamp = letter.timestamp
    return (
        letter.topic,
        letter.partition,
        letter.offset,
        0 if stamp is None else _seconds(stamp),
        0 if stamp is None else 1,
        letter.reason,
        letter.detail,
        letter.feed or "",
        letter.payload,
        letter.payload_encoding,
    )
