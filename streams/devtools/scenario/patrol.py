"""Background police work: check-ins at key sites, incidents, inspections.

Planned in full by ``engine`` after the anomalies are known (their patrol gaps
shape the check-in schedule). None of it triggers a rule: every key site gets a
check-in within minutes of the start and then every 40-88 minutes; incidents
are of the non-police types and meet the 1-3-5 limits with margin; inspections
pass and never touch the venues the anomaly makers fail. The key sites, the
police types and the limits are the rules configuration's.
"""

from __future__ import annotations

from typing import get_args

from schemas.feeds import IncidentType
from streams.devtools.scenario.clock import MINUTE_MS
from streams.devtools.scenario.context import UNITS, Context
from streams.devtools.scenario.places import GRIDS
from streams.devtools.scenario.tracked import patrol_event

__all__ = ["calm_types", "in_time_stages", "incident_lifecycle", "location_near", "plan_patrols"]

INCIDENTS_PER_HOUR = 0.5
INSPECTIONS_PER_HOUR = 1.0


def calm_types(ctx: Context) -> tuple[str, ...]:
    """The incident types that are not ``police_incident_types`` (gathering, dispute, other),
    in the feed's order."""
    police = ctx.thresholds.police_incident_types
    return tuple(t for t in get_args(IncidentType) if t not in police)


def in_time_stages(ctx: Context) -> tuple[float, float, float]:
    """Offsets (s) of dispatch, arrival and resolution that meet ``dispatch_s``,
    ``arrive_s`` and ``resolve_s`` (1-3-5) with 10 s of margin at least."""
    d, a, r = ctx.thresholds.dispatch_s, ctx.thresholds.arrive_s, ctx.thresholds.resolve_s
    rng = ctx.rng
    return rng.uniform(5, d - 10), rng.uniform(d + 10, a - 10), rng.uniform(a + 10, r - 10)


def location_near(ctx: Context) -> dict[str, float]:
    """A plausible incident location near one of the grids."""
    grid = ctx.rng.choice(GRIDS)
    return {
        "lat": round(grid.lat + ctx.rng.uniform(-0.004, 0.004), 6),
        "lon": round(grid.lon + ctx.rng.uniform(-0.004, 0.004), 6),
    }


def incident_lifecycle(
    ctx: Context, t: int, incident_type: str, stages_s: tuple[float | None, ...]
) -> str:
    """Plan a report at ``t`` and its stages at the given offsets (None: never comes).

    Offsets are seconds after the report, for dispatched, arrived, resolved; stages
    falling after the scenario's end are left out. Returns the incident id.
    """
    incident_id = ctx.new_incident_id()
    unit = ctx.rng.choice(UNITS)
    report = patrol_event(
        t,
        "yc-command",
        "incident_reported",
        incident_id=incident_id,
        incident_type=incident_type,
        location=location_near(ctx),
    )
    ctx.plan.record(t, report)
    for kind, offset in zip(("dispatched", "arrived", "resolved"), stages_s, strict=True):
        if offset is None:
            continue
        at = t + round(offset * 1000)
        if at < ctx.end:
            ctx.plan.record(at, patrol_event(at, unit, kind, incident_id=incident_id))
    return incident_id


def _plan_checkins(ctx: Context) -> None:
    rng = ctx.rng
    for k, site in enumerate(ctx.world.key_sites):
        unit = UNITS[k % len(UNITS)]
        pending = sorted(ctx.gap_requests.get(site.site_id, []))
        t = ctx.start + rng.randrange(1 * MINUTE_MS, 8 * MINUTE_MS)
        while t < ctx.end:
            ctx.plan.record(t, patrol_event(t, unit, "checkin", site_id=site.site_id))
            following = t + rng.randrange(40 * MINUTE_MS, 88 * MINUTE_MS)
            if pending and following >= pending[0][0]:
                following = t + pending[0][1]
                while pending and pending[0][0] <= following:
                    pending.pop(0)
            t = following


def _plan_incidents(ctx: Context) -> None:
    rng = ctx.rng
    count = round(ctx.options.duration_s / 3600 * INCIDENTS_PER_HOUR)
    for _ in range(count):
        t = rng.randrange(ctx.start + MINUTE_MS, ctx.end)
        stages = in_time_stages(ctx)
        incident_lifecycle(ctx, t, rng.choice(calm_types(ctx)), stages)


def _plan_inspections(ctx: Context) -> None:
    rng = ctx.rng
    count = round(ctx.options.duration_s / 3600 * INSPECTIONS_PER_HOUR)
    for _ in range(count):
        t = rng.randrange(ctx.start + MINUTE_MS, ctx.end)
        target = rng.choice(ctx.background_targets)
        issues = [] if rng.random() < 0.8 else ["整改到位: 登记本补齐"]
        inspection = {"target_id": target.venue_id, "passed": True, "issues": issues}
        ctx.plan.record(t, patrol_event(t, rng.choice(UNITS), "inspection", inspection=inspection))


def plan_patrols(ctx: Context) -> None:
    """Plan the whole scenario's background patrol events."""
    _plan_checkins(ctx)
    _plan_incidents(ctx)
    _plan_inspections(ctx)
