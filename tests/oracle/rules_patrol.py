"""Deadline rules on patrol events: `response-sla-breach`, `patrol-gap`, inspection escalation.

A deadline fires only when it lies before the last event's time minus the allowed lateness
(`Stream.deadline_passed`); an obligation is met only by an on-time event with
`event_time <= deadline`. Late events neither start nor meet obligations.

Choices (docs/rules.md is silent):
- `response-sla-breach`: an incident is tracked from its first on-time `incident_reported`
  (later reports of the same `incident_id` start nothing). Any on-time stage event of the
  incident with `event_time <= deadline` counts, even one ordered before the report.
- `patrol-gap`: check-ins whose `site_id` is missing or not a key site are ignored; the "first
  `patrol_event` of the stream" is the first on-time one (any kind) in the global order. A gap
  ends at the next check-in; the clock restarts there.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from tests.oracle.model import Alert, Thresholds, make_alert
from tests.oracle.stream import Record, Stream
from tests.oracle.world import KEY_SITES

STAGES = {"dispatched": 1, "arrived": 2, "resolved": 3}


def response_sla_breach(stream: Stream, th: Thresholds) -> list[Alert]:
    reports: dict[str, Record] = {}
    stages: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for event in stream.on_time("patrol_event"):
        kind = event.kind or ""
        if kind == "incident_reported":
            reports.setdefault(event.data["incident_id"], event)
        elif kind in STAGES:
            stages[event.data["incident_id"]].append((STAGES[kind], event.time))

    alerts: list[Alert] = []
    for incident, report in reports.items():
        for stage, offset_s in ((1, th.dispatch_s), (2, th.arrive_s), (3, th.resolve_s)):
            deadline = report.time + timedelta(seconds=offset_s)
            # A later stage also meets the earlier ones.
            met = any(s >= stage and time <= deadline for s, time in stages[incident])
            if met:
                continue
            if stream.deadline_passed(deadline):  # one alert, for the earliest missed stage
                alerts.append(
                    make_alert(
                        "response-sla-breach",
                        "critical",
                        [report.event_id],
                        deadline,
                        "incident",
                        incident,
                    )
                )
            break
    return alerts


def patrol_gap(stream: Stream, th: Thresholds) -> list[Alert]:
    patrols = stream.on_time("patrol_event")
    if not patrols:
        return []
    gap = timedelta(seconds=th.patrol_gap_s)
    alerts: list[Alert] = []
    for site in KEY_SITES:
        checkins = [p for p in patrols if p.kind == "checkin" and p.data.get("site_id") == site]
        # The clock: from the last check-in, or from the first patrol event before any.
        clock_start: datetime = patrols[0].time
        last_checkin: Record | None = None
        for checkin in [*checkins, None]:
            deadline = clock_start + gap
            missed = checkin is None or checkin.time > deadline
            if missed and stream.deadline_passed(deadline):
                evidence = [last_checkin.event_id] if last_checkin is not None else []
                alerts.append(make_alert("patrol-gap", "warning", evidence, deadline, "site", site))
            if checkin is not None:
                clock_start, last_checkin = checkin.time, checkin
    return alerts


def inspection_escalation(stream: Stream, th: Thresholds) -> list[Alert]:
    within = timedelta(seconds=th.reinspection_within_s)
    inspections = [e for e in stream.on_time("patrol_event") if e.kind == "inspection"]
    times: dict[str, list[datetime]] = defaultdict(list)
    for inspection in inspections:
        times[inspection.data["inspection"]["target_id"]].append(inspection.time)

    alerts: list[Alert] = []
    for failed in inspections:
        if failed.data["inspection"]["passed"] is not False:
            continue
        target = failed.data["inspection"]["target_id"]
        deadline = failed.time + within
        if not stream.deadline_passed(deadline):
            continue
        if not any(failed.time < time <= deadline for time in times[target]):
            alerts.append(
                make_alert(
                    "inspection-failed", "critical", [failed.event_id], deadline, "venue", target
                )
            )
    return alerts
