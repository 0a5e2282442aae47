"""Anomaly makers for the police rules: incidents, the 1-3-5 limits, patrols, inspections.

Incidents of police types (``police_incident``) and incidents that miss a stage
(``sla_breach``: never dispatched, or dispatched, arrived or resolved late);
a key site left without check-in for over 2 h (``patrol_gap``, which the
check-in planner honours); failed inspections re-inspected within a day
(``inspection_failed``) or not (``inspection_escalation``). The incident types,
the 1-3-5 limits, the gap and the re-inspection deadline are the rules'
thresholds (the defaults in brackets).
"""

from __future__ import annotations

from streams.devtools.scenario.clock import HOUR_MS, MINUTE_MS
from streams.devtools.scenario.context import UNITS, Context
from streams.devtools.scenario.patrol import calm_types, in_time_stages, incident_lifecycle
from streams.devtools.scenario.tracked import patrol_event

__all__ = [
    "free_site",
    "free_target",
    "inspection_escalation",
    "inspection_failed",
    "patrol_gap",
    "plan_inspection",
    "police_incident",
    "sla_breach",
]

_ISSUES = (
    "旅客登记不全",
    "未落实测温",
    "工作人员未戴口罩",
    "场所码未张贴",
    "未查验健康码",
)


def police_incident(ctx: Context, t: int) -> None:
    """police-incident: one of ``police_incident_types`` (a rumour, counterfeit goods, ...)
    handled within 1-3-5."""
    stages = in_time_stages(ctx)
    incident_lifecycle(ctx, t, ctx.rng.choice(tuple(ctx.thresholds.police_incident_types)), stages)


def sla_breach(ctx: Context, t: int) -> None:
    """response-sla-breach: the first missed stage is dispatch, arrival or resolution
    (``dispatch_s``, ``arrive_s``, ``resolve_s``: 60, 180, 300 s)."""
    rng = ctx.rng
    d, a, r = ctx.thresholds.dispatch_s, ctx.thresholds.arrive_s, ctx.thresholds.resolve_s
    way = rng.choice(("never", "dispatch", "arrival", "resolution"))
    stages: tuple[float | None, ...]
    if way == "never":
        stages = (None, None, None)
    elif way == "dispatch":
        stages = (
            rng.uniform(d + 1, d + 90),
            rng.uniform(d + 91, d + 180),
            rng.uniform(d + 181, d + 360),
        )
    elif way == "arrival":
        stages = (
            rng.uniform(5, d - 10),
            rng.uniform(a + 1, a + 100),
            rng.uniform(a + 101, a + 240),
        )
    else:
        stages = (
            rng.uniform(5, d - 10),
            rng.uniform(d + 10, a - 10),
            rng.choice((rng.uniform(r + 1, r + 300), None)),
        )
    types = (*ctx.thresholds.police_incident_types, *calm_types(ctx))
    incident_lifecycle(ctx, t, rng.choice(types), stages)


def free_site(ctx: Context, t: int) -> str:
    """A key site without another planned gap within 5 h of ``t`` (any site if none is free)."""
    sites = [s.site_id for s in ctx.world.key_sites]
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
    """patrol-gap: after the last check-in before ``t``, the next comes 5 to 45 minutes more
    than ``patrol_gap_s`` (2 h) later."""
    gap = ctx.thresholds.patrol_gap_s * 1000 + ctx.rng.randrange(5 * MINUTE_MS, 45 * MINUTE_MS)
    ctx.gap_requests.setdefault(free_site(ctx, t), []).append((t, gap))


def plan_inspection(ctx: Context, t: int, target_id: str, passed: bool) -> None:
    """Plan one inspection of ``target_id`` at ``t`` (issues when it fails)."""
    issues = [] if passed else ctx.rng.sample(_ISSUES, ctx.rng.randint(1, 2))
    inspection = {"target_id": target_id, "passed": passed, "issues": issues}
    unit = ctx.rng.choice(UNITS)
    ctx.plan.record(t, patrol_event(t, unit, "inspection", inspection=inspection))


def inspection_failed(ctx: Context, t: int) -> None:
    """inspection-failed warning: a failed inspection, re-inspected after a twelfth to five
    sixths of ``reinspection_within_s`` (2-20 h)."""
    within = ctx.thresholds.reinspection_within_s * 1000
    target = free_target(ctx, t)
    plan_inspection(ctx, t, target, False)
    again = t + ctx.rng.randrange(within // 12, within * 5 // 6)
    if again < ctx.end:
        plan_inspection(ctx, again, target, True)


def inspection_escalation(ctx: Context, t: int) -> None:
    """inspection-failed critical: no re-inspection within ``reinspection_within_s`` (24 h;
    late, or never)."""
    within = ctx.thresholds.reinspection_within_s * 1000
    target = free_target(ctx, t)
    plan_inspection(ctx, t, target, False)
    again = t + within + ctx.rng.randrange(30 * MINUTE_MS, 6 * HOUR_MS)
    if ctx.rng.random() < 0.5 and again < ctx.end:
        plan_inspection(ctx, again, target, True)
