"""Anomaly makers for the police rules: incidents, the 1-3-5 limits, patrols, inspections.

Incidents of police types (``police_incident``) and incidents that miss a stage
(``sla_breach``: never dispatched, or dispatched, arrived or resolved late);
a key site left without check-in for over 2 h (``patrol_gap``, which the
check-in planner honours); failed inspections re-inspected within a day
(``inspection_failed``) or not (``inspection_escalation``).
"""

from __future__ import annotations

from streams.devtools.scenario.clock import HOUR_MS, MINUTE_MS
from streams.devtools.scenario.context import UNITS, Context
from streams.devtools.scenario.patrol import incident_lifecycle
from streams.devtools.scenario.places import KEY_SITES
from streams.devtools.scenario.tracked import patrol_event

__all__ = [
    "POLICE_TYPES",
    "free_site",
    "free_target",
    "inspection_escalation",
    "inspection_failed",
    "patrol_gap",
    "plan_inspection",
    "police_incident",
    "sla_breach",
]

POLICE_TYPES = ("rumor", "counterfeit_goods", "illegal_vaccine", "checkpoint_conflict")
_ALL_TYPES = (*POLICE_TYPES, "gathering", "dispute", "other")
_ISSUES = (
    "旅客登记不全",
    "未落实测温",
    "工作人员未戴口罩",
    "场所码未张贴",
    "未查验健康码",
)


def police_incident(ctx: Context, t: int) -> None:
    """police-incident: a rumour, counterfeit goods, ... handled within 1-3-5."""
    rng = ctx.rng
    stages = (rng.uniform(5, 50), rng.uniform(70, 170), rng.uniform(190, 290))
    incident_lifecycle(ctx, t, rng.choice(POLICE_TYPES), stages)


def sla_breach(ctx: Context, t: int) -> None:
    """response-sla-breach: the first missed stage is dispatch, arrival or resolution."""
    rng = ctx.rng
    way = rng.choice(("never", "dispatch", "arrival", "resolution"))
    stages: tuple[float | None, ...]
    if way == "never":
        stages = (None, None, None)
    elif way == "dispatch":
        stages = (rng.uniform(61, 150), rng.uniform(151, 240), rng.uniform(241, 420))
    elif way == "arrival":
        stages = (rng.uniform(5, 50), rng.uniform(181, 280), rng.uniform(281, 420))
    else:
        stages = (
            rng.uniform(5, 50),
            rng.uniform(70, 170),
            rng.choice((rng.uniform(301, 600), None)),
        )
    incident_lifecycle(ctx, t, rng.choice(_ALL_TYPES), stages)


def free_site(ctx: Context, t: int) -> str:
    """A key site without another planned gap within 5 h of ``t`` (any site if none is free)."""
    sites = [s.site_id for s in KEY_SITES]
    free = [
        s
        for s in sites
        if all(abs(t - other) > 5 * HOUR_MS for other, _gap in ctx.gap_requests.get(s, []))
    ]
    return ctx.rng.choice(free or sites)


def free_target(ctx: Context, t: int) -> str:
    """A venue no other injected inspection visits within 31 h of ``t`` (if one is found)."""
    for _ in range(30):
        target = ctx.rng.choice(ctx.anomaly_targets).venue_id
        if all(abs(t - other) > 31 * HOUR_MS for other in ctx.inspected.get(target, [])):
            break
    ctx.inspected.setdefault(target, []).append(t)
    return target


def patrol_gap(ctx: Context, t: int) -> None:
    """patrol-gap: after the last check-in before ``t``, the next comes 2h05 to 2h45 later."""
    gap = 2 * HOUR_MS + ctx.rng.randrange(5 * MINUTE_MS, 45 * MINUTE_MS)
    ctx.gap_requests.setdefault(free_site(ctx, t), []).append((t, gap))


def plan_inspection(ctx: Context, t: int, target_id: str, passed: bool) -> None:
    """Plan one inspection of ``target_id`` at ``t`` (issues when it fails)."""
    issues = [] if passed else ctx.rng.sample(_ISSUES, ctx.rng.randint(1, 2))
    inspection = {"target_id": target_id, "passed": passed, "issues": issues}
    unit = ctx.rng.choice(UNITS)
    ctx.plan.record(t, patrol_event(t, unit, "inspection", inspection=inspection))


def inspection_failed(ctx: Context, t: int) -> None:
    """inspection-failed warning: a failed inspection, re-inspected within 2-20 h."""
    target = free_target(ctx, t)
    plan_inspection(ctx, t, target, False)
    again = t + ctx.rng.randrange(2 * HOUR_MS, 20 * HOUR_MS)
    if again < ctx.end:
        plan_inspection(ctx, again, target, True)


def inspection_escalation(ctx: Context, t: int) -> None:
    """inspection-failed critical: no re-inspection within 24 h (late, or never)."""
    target = free_target(ctx, t)
    plan_inspection(ctx, t, target, False)
    again = t + 24 * HOUR_MS + ctx.rng.randrange(30 * MINUTE_MS, 6 * HOUR_MS)
    if ctx.rng.random() < 0.5 and again < ctx.end:
        plan_inspection(ctx, again, target, True)
