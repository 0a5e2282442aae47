"""Near misses: injected records that come close to a rule and must NOT fire it.

They sharpen the checks of any implementation against the labels: a threshold
not reached (37.2 C, two failing scans, 4 km), a boundary that counts as met
(dispatch at exactly 60 s, a test at exactly 24 h, a check-in at exactly 2 h),
a county that is not risky at the scan's time, a mask "not observed".
"""

from __future__ import annotations

from streams.devtools.scenario.anomalies_patrol import free_site, free_target, plan_inspection
from streams.devtools.scenario.anomalies_window import failing_fields, same_day_times
from streams.devtools.scenario.clock import HOUR_MS, MINUTE_MS, iso, local_day, local_day_start
from streams.devtools.scenario.context import Context
from streams.devtools.scenario.inject import (
    REQUIRED_TYPES,
    add_checkpoint_scan,
    add_venue_scan,
    checkpoint_person,
    newcomer,
    open_venue,
    risky_travel,
)
from streams.devtools.scenario.patrol import incident_lifecycle
from streams.devtools.scenario.places import CHECKPOINTS, haversine_km

__all__ = [
    "arrived_first",
    "before_closure",
    "calm_area",
    "checkin_boundary",
    "midnight_failures",
    "near_distance",
    "reinspection_boundary",
    "returnee_boundary",
    "sla_boundary",
    "staff_mask",
    "temperature_37_2",
    "two_failures",
]


def temperature_37_2(ctx: Context, t: int) -> None:
    """37.2 C: just below fever."""
    venue = open_venue(ctx, t)
    add_venue_scan(ctx, t, venue, ctx.world.local_person(ctx.rng, venue), temperature_c=37.2)


def calm_area(ctx: Context, t: int) -> None:
    """Entering from a risk county that is not listed (any more, or yet) at ``t``."""
    calm = ctx.risk.calm_at(t)
    if not calm:
        temperature_37_2(ctx, t)
        return
    k = ctx.rng.randrange(len(CHECKPOINTS))
    travel = {"star": False, "areas": [ctx.rng.choice(calm), "511802"]}
    add_checkpoint_scan(ctx, t, k, "in", checkpoint_person(ctx, k), travel=travel)


def staff_mask(ctx: Context, t: int) -> None:
    """Staff with mask not observed where temperatures are required, or bare-faced where not."""
    if ctx.rng.random() < 0.5:
        venue, mask = open_venue(ctx, t, REQUIRED_TYPES), None
    else:
        venue, mask = open_venue(ctx, t, ("construction_site", "residential")), False
    person = ctx.world.local_person(ctx.rng, venue)
    add_venue_scan(ctx, t, venue, person, role="staff", mask=mask)


def sla_boundary(ctx: Context, t: int) -> None:
    """Dispatched at exactly 60 s, arrived at 180 s, resolved at 300 s: all in time."""
    incident_lifecycle(ctx, t, ctx.rng.choice(("gathering", "dispute")), (60.0, 180.0, 300.0))


def arrived_first(ctx: Context, t: int) -> None:
    """No dispatch record, but arrival within 60 s also counts as dispatch in time."""
    stages = (None, ctx.rng.uniform(30, 55), ctx.rng.uniform(200, 290))
    incident_lifecycle(ctx, t, "other", stages)


def reinspection_boundary(ctx: Context, t: int) -> None:
    """A failed inspection (a warning) re-inspected at exactly 24 h: no escalation."""
    target = free_target(ctx, t)
    plan_inspection(ctx, t, target, False)
    plan_inspection(ctx, t + 24 * HOUR_MS, target, True)


def returnee_boundary(ctx: Context, t: int) -> None:
    """A risky entry (a critical risk alert) whose test is sampled and shown at exactly 24 h."""
    person = newcomer(ctx)
    k = ctx.rng.randrange(len(CHECKPOINTS))
    add_checkpoint_scan(ctx, t, k, "in", person, travel=risky_travel(ctx, t))
    shown = t + 24 * HOUR_MS
    nat = {"result": "negative", "sampled_at": iso(shown)}
    add_venue_scan(ctx, shown, open_venue(ctx, shown, ("hotel",)), person, nat=nat)


def checkin_boundary(ctx: Context, t: int) -> None:
    """A key site's next check-in comes exactly 2 h after the last: no gap."""
    ctx.gap_requests.setdefault(free_site(ctx, t), []).append((t, 2 * HOUR_MS))


def two_failures(ctx: Context, t: int) -> None:
    """Two failing scans at a venue in one day: one short of noncompliance."""
    venue = open_venue(ctx, t, REQUIRED_TYPES)
    for at in same_day_times(ctx, t, 2):
        person = ctx.world.local_person(ctx.rng, venue)
        add_venue_scan(ctx, at, venue, person, **failing_fields(ctx, venue))


def midnight_failures(ctx: Context, t: int) -> None:
    """Two failing scans before local midnight and one after: two days, no alert."""
    midnight = local_day_start(local_day(t) + 1)
    if midnight - HOUR_MS < ctx.start or midnight + HOUR_MS > ctx.end:
        two_failures(ctx, t)
        return
    venue = open_venue(ctx, midnight, REQUIRED_TYPES)
    rng = ctx.rng
    for at in (
        midnight - rng.randrange(10 * MINUTE_MS, 50 * MINUTE_MS),
        midnight - rng.randrange(1_000, 9 * MINUTE_MS),
        midnight + rng.randrange(0, 30 * MINUTE_MS),
    ):
        person = ctx.world.local_person(rng, venue)
        add_venue_scan(ctx, at, venue, person, **failing_fields(ctx, venue))


def near_distance(ctx: Context, t: int) -> None:
    """A newcomer at two venues 2-4 km apart within a minute: fast, but not 5 km."""
    venues = [open_venue(ctx, t) for _ in range(40)]
    pairs = [
        (a, b)
        for a in venues[:20]
        for b in venues[20:]
        if 2.0 <= haversine_km(a.lat, a.lon, b.lat, b.lon) <= 4.0
    ]
    if not pairs:
        temperature_37_2(ctx, t)
        return
    first, second = ctx.rng.choice(pairs)
    person = newcomer(ctx)
    add_venue_scan(ctx, t, first, person)
    add_venue_scan(ctx, t + ctx.rng.randrange(10_000, 60_000), second, person)


def before_closure(ctx: Context, t: int) -> None:
    """A scan at a parlour shortly before the record that closes it."""
    later = [
        v
        for v in ctx.world.by_type["mahjong"]
        if v.closed_from is not None and v.closed_from > t + MINUTE_MS
    ]
    if not later:
        temperature_37_2(ctx, t)
        return
    venue = ctx.rng.choice(later)
    at = venue.closed_from - ctx.rng.randrange(1_000, MINUTE_MS) if venue.closed_from else t
    add_venue_scan(ctx, at, venue, ctx.world.local_person(ctx.rng, venue))
