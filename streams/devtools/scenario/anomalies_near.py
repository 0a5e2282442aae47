"""Near misses: injected records that come close to a rule and must NOT fire it.

They sharpen the checks of any implementation against the labels: a threshold
not reached (37.2 C, two failing scans, 4 km), a boundary that counts as met
(dispatch at exactly 60 s, a test at exactly 24 h, a check-in at exactly 2 h),
a county that is not risky at the scan's time, a mask "not observed". Every
threshold is the rules configuration's (the defaults in brackets).
"""

from __future__ import annotations

from streams.devtools.scenario.anomalies_patrol import free_site, free_target, plan_inspection
from streams.devtools.scenario.anomalies_window import failing_fields, same_day_times
from streams.devtools.scenario.clock import HOUR_MS, MINUTE_MS, iso, local_day, local_day_start
from streams.devtools.scenario.context import Context
from streams.devtools.scenario.inject import (
    add_checkpoint_scan,
    add_venue_scan,
    checkpoint_person,
    newcomer,
    open_venue,
    required_types,
    risky_travel,
)
from streams.devtools.scenario.patrol import incident_lifecycle
from streams.devtools.scenario.places import haversine_km, local_reach_km

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
    """Just below fever: 0.1 C under ``fever_warning_c`` (37.2 C)."""
    venue = open_venue(ctx, t)
    below = round(ctx.thresholds.fever_warning_c - 0.1, 1)
    add_venue_scan(ctx, t, venue, ctx.world.local_person(ctx.rng, venue), temperature_c=below)


def calm_area(ctx: Context, t: int) -> None:
    """Entering from a risk county that is not listed (any more, or yet) at ``t``."""
    calm = ctx.risk.calm_at(t)
    if not calm:
        temperature_37_2(ctx, t)
        return
    k = ctx.rng.randrange(len(ctx.world.checkpoints))
    travel = {"star": False, "areas": [ctx.rng.choice(calm), "511802"]}
    add_checkpoint_scan(ctx, t, k, "in", checkpoint_person(ctx, k), travel=travel)


def staff_mask(ctx: Context, t: int) -> None:
    """Staff with mask not observed where temperatures are required, or bare-faced where not."""
    if ctx.rng.random() < 0.5:
        venue, mask = open_venue(ctx, t, required_types(ctx)), None
    else:
        venue, mask = open_venue(ctx, t, ("construction_site", "residential")), False
    person = ctx.world.local_person(ctx.rng, venue)
    add_venue_scan(ctx, t, venue, person, role="staff", mask=mask)


def sla_boundary(ctx: Context, t: int) -> None:
    """Dispatched at exactly ``dispatch_s`` (60 s), arrived at ``arrive_s`` (180 s),
    resolved at ``resolve_s`` (300 s): all in time."""
    th = ctx.thresholds
    stages = (float(th.dispatch_s), float(th.arrive_s), float(th.resolve_s))
    incident_lifecycle(ctx, t, ctx.rng.choice(("gathering", "dispute")), stages)


def arrived_first(ctx: Context, t: int) -> None:
    """No dispatch record, but arrival within ``dispatch_s`` (60 s) also counts as
    dispatch in time."""
    th = ctx.thresholds
    arrival = ctx.rng.uniform(th.dispatch_s // 2, th.dispatch_s - 5)
    stages = (None, arrival, ctx.rng.uniform(th.arrive_s + 20, th.resolve_s - 10))
    incident_lifecycle(ctx, t, "other", stages)


def reinspection_boundary(ctx: Context, t: int) -> None:
    """A failed inspection (a warning) re-inspected at exactly ``reinspection_within_s``
    (24 h): no escalation."""
    target = free_target(ctx, t)
    plan_inspection(ctx, t, target, False)
    plan_inspection(ctx, t + ctx.thresholds.reinspection_within_s * 1000, target, True)


def returnee_boundary(ctx: Context, t: int) -> None:
    """A risky entry (a critical risk alert) whose test is sampled and shown at exactly
    ``returnee_test_within_s`` (24 h)."""
    person = newcomer(ctx)
    k = ctx.rng.randrange(len(ctx.world.checkpoints))
    add_checkpoint_scan(ctx, t, k, "in", person, travel=risky_travel(ctx, t))
    shown = t + ctx.thresholds.returnee_test_within_s * 1000
    nat = {"result": "negative", "sampled_at": iso(shown)}
    add_venue_scan(ctx, shown, open_venue(ctx, shown, ("hotel",)), person, nat=nat)


def checkin_boundary(ctx: Context, t: int) -> None:
    """A key site's next check-in comes exactly ``patrol_gap_s`` (2 h) after the last: no
    gap."""
    gap = ctx.thresholds.patrol_gap_s * 1000
    ctx.gap_requests.setdefault(free_site(ctx, t), []).append((t, gap))


def two_failures(ctx: Context, t: int) -> None:
    """One failing scan short of ``noncompliance_min_failures`` (two) at a venue in a day."""
    venue = open_venue(ctx, t, required_types(ctx))
    for at in same_day_times(ctx, t, ctx.thresholds.noncompliance_min_failures - 1):
        person = ctx.world.local_person(ctx.rng, venue)
        add_venue_scan(ctx, at, venue, person, **failing_fields(ctx, venue))


def midnight_failures(ctx: Context, t: int) -> None:
    """Failing scans one short of noncompliance before local midnight (two) and one after:
    two days, no alert."""
    midnight = local_day_start(local_day(t) + 1)
    if midnight - HOUR_MS < ctx.start or midnight + HOUR_MS > ctx.end:
        two_failures(ctx, t)
        return
    before = ctx.thresholds.noncompliance_min_failures - 1
    if before < 1:  # a single failing scan fires: there is no near miss to make
        return
    venue = open_venue(ctx, midnight, required_types(ctx))
    rng = ctx.rng
    times = [midnight - rng.randrange(10 * MINUTE_MS, 50 * MINUTE_MS)]
    times += [midnight - rng.randrange(1_000, 9 * MINUTE_MS) for _ in range(before - 1)]
    times.append(midnight + rng.randrange(0, 30 * MINUTE_MS))
    for at in times:
        person = ctx.world.local_person(rng, venue)
        add_venue_scan(ctx, at, venue, person, **failing_fields(ctx, venue))


def near_distance(ctx: Context, t: int) -> None:
    """A newcomer at two venues 0.4 to 0.8 of ``impossible_travel_min_km`` apart (2-4 km)
    within a minute: fast, but not far enough."""
    venues = [open_venue(ctx, t) for _ in range(40)]
    far = local_reach_km(ctx.thresholds.impossible_travel_min_km)
    pairs = [
        (a, b)
        for a in venues[:20]
        for b in venues[20:]
        if far / 2 <= haversine_km(a.lat, a.lon, b.lat, b.lon) <= far
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
