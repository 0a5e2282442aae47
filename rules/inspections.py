"""The inspection family (key: ``inspection.target_id``): ``inspection-failed`` and its
escalation.

Called by the engine with every ``inspection`` patrol event. A failed
inspection raises the warning at once (late ones too) and, when on time at
``T``, opens an escalation due at ``T + reinspection_within_s``. Any on-time
inspection of the same target with ``event_time`` in ``(T, T+24h]``, passed
or not, closes it; one still open when the watermark passes the deadline
raises the critical alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.alerting import at_venue, make_alert
from rules.clock import SECOND_US, from_us
from rules.context import Context
from rules.events import patrol_alerts
from schemas.clean import RuleEvent
from schemas.feeds import PatrolEvent

__all__ = ["InspectionFamily"]


@dataclass
class InspectionFamily:
    """Open escalations per inspected venue: (time of the failed inspection, its id)."""

    targets: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def on_arrival(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An inspection on arrival: the ``inspection-failed`` warning when it failed."""
        if isinstance(event, PatrolEvent):
            patrol_alerts(ctx, event, time)

    def on_event(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An on-time inspection of venue ``key``: the re-inspection clock."""
        if not isinstance(event, PatrolEvent) or event.inspection is None:
            return
        within = ctx.thresholds.reinspection_within_s * SECOND_US
        pending = self.targets.get(key)
        if pending:
            pending[:] = [(t, i) for t, i in pending if not t < time <= t + within]
        if event.inspection.passed is False:
            self.targets.setdefault(key, []).append((time, event.event_id))
            ctx.schedule(time + within, "inspection", key, event.event_id)
        if key in self.targets and not self.targets[key]:
            del self.targets[key]

    def on_late(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """A late inspection neither opens nor closes an escalation (the warning ran on
        arrival)."""

    def on_timer(self, ctx: Context, key: str, deadline: int, payload: Any) -> None:
        """The re-inspection deadline of the failed inspection ``payload`` has passed."""
        pending = self.targets.get(key, [])
        for entry in pending:
            if entry[1] == payload:
                pending.remove(entry)
                if not pending:
                    del self.targets[key]
                venue = ctx.reference.venue_at(key, deadline)
                at = at_venue(key, venue)
                hours = ctx.thresholds.reinspection_within_s / 3600
                message = f"{key} failed inspection and was not re-inspected within {hours:g} h"
                ctx.alerts.append(
                    make_alert(
                        "inspection-failed",
                        "critical",
                        (entry[1],),
                        from_us(deadline),
                        "venue",
                        at,
                        message,
                    )
                )
                return

    def prune(self, ctx: Context, before: int) -> None:
        """Open escalations end with their timers: nothing to prune."""

    def as_json(self) -> dict[str, Any]:
        """The open escalations by target."""
        return {key: [list(entry) for entry in pending] for key, pending in self.targets.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InspectionFamily:
        """The family ``as_json`` wrote."""
        return cls({k: [(int(t), str(i)) for t, i in rows] for k, rows in data.items()})
