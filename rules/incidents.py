"""The incident family (key: ``incident_id``): ``police-incident`` and ``response-sla-breach``.

Called by the engine with every patrol event of an incident kind
(``incident_reported``, ``dispatched``, ``arrived``, ``resolved``). Per
incident: the first on-time report (later reports start nothing) and, for
each stage level 1-3, the earliest on-time event that reached it or a later
stage (a later stage also meets the earlier ones), whatever its order
relative to the report. A report at ``T`` schedules the dispatch deadline;
when it passes, the stage is met if its earliest time is ``<= T+60 s``;
then the arrival and resolution deadlines follow the same way; the first
one missed raises the incident's one alert. Stage events of incidents never
reported raise nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from rules.alerting import At, make_alert
from rules.clock import SECOND_US, from_us
from rules.config import Thresholds
from rules.context import Context
from rules.events import patrol_alerts
from schemas.clean import RuleEvent
from schemas.feeds import PatrolEvent

__all__ = ["STAGES", "IncidentFamily", "IncidentState"]

STAGES: Final = {"dispatched": 1, "arrived": 2, "resolved": 3}
"""The stage level of each stage kind."""

_STAGE_NOUN: Final = {1: "dispatch", 2: "arrival", 3: "resolution"}


def _offset_s(th: Thresholds, stage: int) -> int:
    return (th.dispatch_s, th.arrive_s, th.resolve_s)[stage - 1]


@dataclass(slots=True)
class IncidentState:
    """One incident's report and stages."""

    last: int
    """Time of its latest on-time event (for pruning)."""
    report: int | None = None
    """Time of the first on-time report; None before one."""
    report_id: str = ""
    """Its event id."""
    reached: list[int | None] = field(default_factory=lambda: [None, None, None])
    """Per stage level 1-3: the earliest time an event reached it or a later stage."""
    done: bool = False
    """The last deadline has been judged."""

    def as_json(self) -> list[Any]:
        """Compact JSON form."""
        return [self.last, self.report, self.report_id, self.reached, self.done]


@dataclass
class IncidentFamily:
    """State per incident; see the module docstring."""

    incidents: dict[str, IncidentState] = field(default_factory=dict)

    def on_arrival(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An incident event on arrival: ``police-incident`` for a report."""
        if isinstance(event, PatrolEvent) and event.kind == "incident_reported":
            patrol_alerts(ctx, event, time)

    def on_event(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An on-time incident event: the 1-3-5 clock."""
        if not isinstance(event, PatrolEvent):
            return
        state = self.incidents.get(key)
        if state is None:
            state = self.incidents[key] = IncidentState(time)
        state.last = max(state.last, time)
        if event.kind == "incident_reported":
            if state.report is None:
                state.report, state.report_id = time, event.event_id
                deadline = time + ctx.thresholds.dispatch_s * SECOND_US
                ctx.schedule(deadline, "incident", key, 1)
        elif event.kind in STAGES:
            for level in range(STAGES[event.kind]):
                earliest = state.reached[level]
                if earliest is None or time < earliest:
                    state.reached[level] = time

    def on_late(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """A late incident event neither starts nor meets a clock (``police-incident``
        ran on arrival)."""

    def on_timer(self, ctx: Context, key: str, deadline: int, payload: Any) -> None:
        """The deadline of stage ``payload`` (1-3) has passed."""
        state = self.incidents.get(key)
        if state is None or state.report is None:
            return
        stage = int(payload)
        reached = state.reached[stage - 1]
        if reached is not None and reached <= deadline:
            if stage < 3:
                nxt = state.report + _offset_s(ctx.thresholds, stage + 1) * SECOND_US
                ctx.schedule(nxt, "incident", key, stage + 1)
            else:
                state.done = True
            return
        state.done = True
        at = At(key, incident_id=key)
        limit = _offset_s(ctx.thresholds, stage)
        message = f"incident {key}: no {_STAGE_NOUN[stage]} within {limit} s of its report"
        ctx.alerts.append(
            make_alert(
                "response-sla-breach",
                "critical",
                (state.report_id,),
                from_us(deadline),
                "incident",
                at,
                message,
            )
        )

    def prune(self, ctx: Context, before: int) -> None:
        """Forget incidents judged, or never reported, whose last event is before ``before``."""
        stale = [
            key
            for key, s in self.incidents.items()
            if s.last < before and (s.done or s.report is None)
        ]
        for key in stale:
            del self.incidents[key]

    def as_json(self) -> dict[str, Any]:
        """The states by incident."""
        return {key: state.as_json() for key, state in self.incidents.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncidentFamily:
        """The family ``as_json`` wrote."""
        return cls(
            {
                key: IncidentState(int(r[0]), r[1], r[2], list(r[3]), bool(r[4]))
                for key, r in data.items()
            }
        )
