"""The venue family (key: ``venue_id``): venue scans' per-event rules, ``crowding`` and
``venue-noncompliance``.

Called by the engine with every venue scan, on time in ``(event_time,
event_id)`` order. Both window rules fire at a scan, never at a window's end,
so each venue keeps only its current 15-minute window and its current local
day: a scan in a later window or day starts a new count. That is the same
answer as closing windows when the watermark passes them, with state bounded
by the number of venues.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.alerting import at_venue, make_alert
from rules.clock import DAY_US, SECOND_US, from_us, local_day, window_of
from rules.config import Thresholds
from rules.context import Context
from rules.events import scan_alerts, scan_immediate_alerts
from rules.reference import VenueInfo
from schemas.clean import CleanVenueScan, RuleEvent

__all__ = ["VenueCounts", "VenueFamily", "is_failing_scan"]


def is_failing_scan(scan: CleanVenueScan, venue: VenueInfo | None, th: Thresholds) -> bool:
    """docs/rules.md "Failing scan"; a null ``mask`` is not observed, so not a failure."""
    if venue is None or venue.type not in th.temperature_required_types:
        return False
    if scan.temperature_c is None:
        return True
    if scan.role == "staff" and scan.mask is False:
        return True
    purchase = scan.purchase
    return (
        purchase is not None
        and purchase.category in th.medicine_categories
        and not purchase.registered
    )


@dataclass(slots=True)
class VenueCounts:
    """One venue's current crowding window and noncompliance day."""

    window: int = -1
    """The 15-minute window being counted (epoch-aligned index)."""
    count: int = 0
    """On-time scans in it so far."""
    crowded: bool = False
    """``crowding`` fired in this window."""
    day: int = -1
    """The local day being counted (days since 1970-01-01, UTC+08:00)."""
    failures: list[str] = field(default_factory=list)
    """The day's failing scans, up to the threshold (the alert's evidence)."""

    def as_json(self) -> list[Any]:
        """Compact JSON form."""
        return [self.window, self.count, self.crowded, self.day, self.failures]


@dataclass
class VenueFamily:
    """Counts per venue; see the module docstring."""

    venues: dict[str, VenueCounts] = field(default_factory=dict)

    def on_arrival(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """A venue scan on arrival: the immediate per-event rules."""
        if isinstance(event, CleanVenueScan):
            venue = ctx.reference.venue_at(event.venue_id, time)
            scan_immediate_alerts(ctx, event, venue)

    def on_event(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An on-time venue scan: reference per-event rules, then the two window rules."""
        if not isinstance(event, CleanVenueScan):
            return
        venue = ctx.reference.venue_at(event.venue_id, time)
        scan_alerts(ctx, event, time, venue)
        counts = self.venues.get(key)
        if counts is None:
            counts = self.venues[key] = VenueCounts()
        th = ctx.thresholds
        if is_failing_scan(event, venue, th):
            self._noncompliance(ctx, counts, event, time, venue)
        window = window_of(time, th.crowding_window_s * SECOND_US)
        if counts.window != window:
            counts.window, counts.count, counts.crowded = window, 0, False
        counts.count += 1
        if not counts.crowded and venue is not None and counts.count > venue.capacity:
            counts.crowded = True
            at = at_venue(event.venue_id, venue)
            minutes = th.crowding_window_s // 60
            message = (
                f"crowding at {at.label}: {counts.count} scans in {minutes} min "
                f"(capacity {venue.capacity})"
            )
            alert = make_alert(
                "crowding", "warning", (event.event_id,), event.event_time, "venue", at, message
            )
            ctx.alerts.append(alert)

    @staticmethod
    def _noncompliance(
        ctx: Context, counts: VenueCounts, scan: CleanVenueScan, time: int, venue: VenueInfo | None
    ) -> None:
        day = local_day(time)
        if counts.day != day:
            counts.day, counts.failures = day, []
        needed = ctx.thresholds.noncompliance_min_failures
        if len(counts.failures) >= needed:
            return  # at most once per venue and day; the evidence is the first ones
        counts.failures.append(scan.event_id)
        if len(counts.failures) == needed:
            at = at_venue(scan.venue_id, venue)
            message = f"{needed} protocol failures at {at.label} on {from_us(time).date()}"
            ctx.alerts.append(
                make_alert(
                    "venue-noncompliance",
                    "warning",
                    counts.failures,
                    scan.event_time,
                    "venue",
                    at,
                    message,
                )
            )

    def on_late(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """A late venue scan: the reference per-event rules only."""
        if isinstance(event, CleanVenueScan):
            scan_alerts(ctx, event, time, ctx.reference.venue_at(event.venue_id, time))

    def on_timer(self, ctx: Context, key: str, deadline: int, payload: Any) -> None:
        """The venue family schedules no deadlines."""

    def prune(self, ctx: Context, before: int) -> None:
        """Drop venues whose window and day both ended before ``before``."""
        th = ctx.thresholds
        window_us = th.crowding_window_s * SECOND_US
        stale = [
            venue_id
            for venue_id, counts in self.venues.items()
            if (counts.window + 1) * window_us <= before and _day_end(counts.day) <= before
        ]
        for venue_id in stale:
            del self.venues[venue_id]

    def as_json(self) -> dict[str, Any]:
        """The counts by venue."""
        return {venue_id: counts.as_json() for venue_id, counts in self.venues.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VenueFamily:
        """The family ``as_json`` wrote."""
        return cls({k: VenueCounts(v[0], v[1], v[2], v[3], list(v[4])) for k, v in data.items()})


def _day_end(day: int) -> int:
    """The first microsecond after local day ``day`` (-1: none counted yet, long ended)."""
    return (day + 1) * DAY_US - 8 * 3600 * SECOND_US
