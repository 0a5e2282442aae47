"""Anomaly makers for the window, sequence and person rules.

``noncompliance`` (failing scans in one local day), ``crowding`` (more scans in a
crowding window, 15 minutes by default, than the venue holds; background scans
keep off that venue and window), ``surge`` (a coach-load at a checkpoint, sized
when the writer gets there from the live baseline), ``impossible_travel`` (a
newcomer at two far places in minutes) and ``returnee_untested`` (a risky entry
never shown tested in 24 h).
Windows, counts, distances and deadlines are the rules' thresholds (the
defaults in brackets).
"""

from __future__ import annotations

import math

from rules import Thresholds
from streams.devtools.scenario.clock import HOUR_MS, MINUTE_MS, iso, local_day, local_day_start
from streams.devtools.scenario.context import Context
from streams.devtools.scenario.inject import (
    add_checkpoint_scan,
    add_venue_scan,
    local_travel,
    newcomer,
    open_venue,
    required_types,
    risky_travel,
)
from streams.devtools.scenario.people import Person
from streams.devtools.scenario.places import haversine_km
from streams.devtools.scenario.tracked import (
    TAG_MARKER,
    MarkerHost,
    Tracked,
    checkpoint_scan,
)
from streams.devtools.scenario.world import Venue

__all__ = [
    "crowding",
    "failing_fields",
    "impossible_travel",
    "noncompliance",
    "returnee_untested",
    "same_day_times",
    "surge",
    "surge_target",
]

FAR = 1.6
"""Injected impossible travel spans at least this many ``impossible_travel_min_km`` (8 km),
at ``FAST`` times ``impossible_travel_kmh`` (300 km/h) or more."""
FAST = 2.0
"""See ``FAR``."""


def _window_ms(th: Thresholds) -> int:
    return th.surge_window_s * 1000


def failing_fields(ctx: Context, venue: Venue) -> dict[str, object]:
    """The fields of one failing scan at a venue that must take temperatures (an
    unregistered purchase is of the first ``medicine_categories``)."""
    modes = ["no-temperature", "staff-no-mask"] + (
        ["unregistered"] if venue.type == "pharmacy" else []
    )
    mode = ctx.rng.choice(modes)
    if mode == "no-temperature":
        return {"temperature_c": None}
    if mode == "staff-no-mask":
        return {"role": "staff", "mask": False}
    medicine = next(iter(ctx.thresholds.medicine_categories))
    return {"purchase": {"category": medicine, "registered": False}}


def same_day_times(ctx: Context, t: int, count: int) -> list[int]:
    """``count`` increasing times from about ``t``, all in ``t``'s local day and the scenario."""
    gaps = [ctx.rng.randrange(3 * MINUTE_MS, 40 * MINUTE_MS) for _ in range(count - 1)]
    span = sum(gaps)
    day_end = local_day_start(local_day(t) + 1)
    base = min(t, day_end - span - MINUTE_MS, ctx.end - span - MINUTE_MS)
    base = max(base, local_day_start(local_day(t)), ctx.start)
    times = [base]
    for gap in gaps:
        times.append(times[-1] + gap)
    return times


def noncompliance(ctx: Context, t: int) -> None:
    """venue-noncompliance: ``noncompliance_min_failures`` (3) failing scans at one venue in
    one local day, or one more."""
    venue = open_venue(ctx, t, required_types(ctx))
    needed = ctx.thresholds.noncompliance_min_failures
    for at in same_day_times(ctx, t, ctx.rng.choice((needed, needed, needed + 1))):
        person = ctx.world.local_person(ctx.rng, venue)
        add_venue_scan(ctx, at, venue, person, **failing_fields(ctx, venue))


def crowding(ctx: Context, t: int) -> None:
    """crowding: capacity + 1 or more scans at a small venue in one ``crowding_window_s``
    window (15 minutes by default)."""
    types = ("pharmacy", "police_station", "other", "restaurant")
    venue = open_venue(ctx, t, types, max_capacity=40)
    length = ctx.thresholds.crowding_window_s * 1000
    window = t // length
    low = max(window * length, ctx.start)
    high = min((window + 1) * length, ctx.end)
    ctx.crowding_blocks.add((venue.index, window))
    count = venue.capacity + 1 + ctx.rng.randrange(3)
    for at in sorted(ctx.rng.randrange(low, high) for _ in range(count)):
        add_venue_scan(ctx, at, venue, ctx.world.local_person(ctx.rng, venue))


def surge_target(th: Thresholds, mean: float, var: float, count: int) -> int:
    """The least window count above ``count`` that fires checkpoint-surge (rules.md)."""
    least = max(th.surge_min_excess, th.surge_sigmas * math.sqrt(var))
    n = max(count + 1, math.ceil(mean + least))
    while n > count + 1 and surge_fires(th, n - 1, mean, var):
        n -= 1
    while not surge_fires(th, n, mean, var):
        n += 1
    return n


def surge_fires(th: Thresholds, n: int, mean: float, var: float) -> bool:
    """Whether a window count ``n`` fires checkpoint-surge over the baseline (rules.md)."""
    excess = n - mean
    return excess > th.surge_sigmas * math.sqrt(var) and excess >= th.surge_min_excess


def surge(ctx: Context, t: int) -> None:
    """checkpoint-surge: a marker that, once the writer reaches it, plans the coach-load
    (half to two thirds into a window)."""
    checkpoint = ctx.rng.randrange(len(ctx.world.checkpoints))
    window = _window_ms(ctx.thresholds)
    at = t // window * window + ctx.rng.randrange(window // 2, window * 2 // 3)
    at = max(at, t)
    if at < ctx.end:
        marker = Tracked(at, TAG_MARKER)
        marker.action = lambda host: _burst(ctx, host, checkpoint, at)
        ctx.plan.add(marker)


def _retry_later(ctx: Context, host: MarkerHost, checkpoint: int, at: int) -> None:
    window = _window_ms(ctx.thresholds)
    later = (at // window + 1) * window + window // 2  # mid-way into the next
    if later < ctx.end - MINUTE_MS:
        marker = Tracked(later, TAG_MARKER)
        marker.action = lambda h: _burst(ctx, h, checkpoint, later)
        host.schedule(marker)


def _burst(ctx: Context, host: MarkerHost, checkpoint: int, at: int) -> None:
    """The coach-load, sized from the live window: just enough to fire, plus 1-4.

    Its scans come strictly after the marker (and no background inbound scan does,
    in this window), so the crossing scan is one of them.
    """
    view = host.inbound(checkpoint)
    last = min(at + 60_000, view.window_end - 1, ctx.end - 1)
    th = ctx.thresholds
    if view.updates < th.surge_warmup_windows or last <= at:  # not judged yet, or no room
        _retry_later(ctx, host, checkpoint, at)
        return
    host.freeze_inbound(checkpoint)
    size = surge_target(th, view.mean, view.var, view.scans) - view.scans
    size += ctx.rng.randrange(1, 5)
    site = ctx.world.checkpoints[checkpoint].site_id
    for when in sorted(ctx.rng.randint(at + 1, last) for _ in range(size)):
        person = newcomer(ctx)
        data = checkpoint_scan(when, site, "in", (person.person_id, person.phone))
        data["travel"] = local_travel(ctx)
        host.schedule(Tracked(when, 1, data))


def _places(ctx: Context, t: int) -> list[tuple[int, Venue | None]]:
    """Candidate scan places: every checkpoint (index, None) and some open venues (-1, v)."""
    places: list[tuple[int, Venue | None]] = [(k, None) for k in range(len(ctx.world.checkpoints))]
    places += [(-1, open_venue(ctx, t)) for _ in range(30)]
    return places


def _coords(ctx: Context, place: tuple[int, Venue | None]) -> tuple[float, float]:
    index, venue = place
    if venue is not None:
        return venue.lat, venue.lon
    checkpoint = ctx.world.checkpoints[index]
    return checkpoint.lat, checkpoint.lon


def _scan_at(ctx: Context, t: int, place: tuple[int, Venue | None], person: Person) -> None:
    index, venue = place
    if venue is not None:
        add_venue_scan(ctx, t, venue, person)
    else:
        add_checkpoint_scan(ctx, t, index, ctx.rng.choice(("in", "out")), person)


def _farthest_checkpoints(ctx: Context) -> tuple[int, int]:
    """The two checkpoints farthest apart (for a place with none far enough from it)."""
    spots = [_coords(ctx, (k, None)) for k in range(len(ctx.world.checkpoints))]
    pairs = [(a, b) for a in range(len(spots)) for b in range(a)]
    return max(pairs, key=lambda p: haversine_km(*spots[p[0]], *spots[p[1]]))


def impossible_travel(ctx: Context, t: int) -> None:
    """impossible-travel: a newcomer's code at two places ``FAR`` times the least distance
    apart (8+ km) at ``FAST`` times the speed (300+ km/h)."""
    th = ctx.thresholds
    far_km, speed = FAR * th.impossible_travel_min_km, FAST * th.impossible_travel_kmh
    places = _places(ctx, t)
    first = ctx.rng.choice(places)
    here = _coords(ctx, first)
    far = [p for p in places if haversine_km(*here, *_coords(ctx, p)) >= far_km]
    if not far:  # no place far enough from this one: two checkpoints are (9 km at least)
        a, b = _farthest_checkpoints(ctx)
        first, far = (a, None), [(b, None)]
    second = ctx.rng.choice(far)
    distance = haversine_km(*_coords(ctx, first), *_coords(ctx, second))
    longest = int(distance / speed * HOUR_MS)
    step = 0 if ctx.rng.random() < 0.2 else ctx.rng.randrange(min(20_000, longest), longest + 1)
    person = newcomer(ctx)
    _scan_at(ctx, t, first, person)
    _scan_at(ctx, t + step, second, person)
    if ctx.rng.random() < 0.3 and t + 2 * step < ctx.end:  # and straight back: a second alert
        _scan_at(ctx, t + 2 * step, first, person)


def returnee_untested(ctx: Context, t: int) -> None:
    """returnee-untested: a risky entry, then no test shown within ``returnee_test_within_s``
    (24 h; four ways)."""
    within = ctx.thresholds.returnee_test_within_s * 1000
    person = newcomer(ctx)
    checkpoint = ctx.rng.randrange(len(ctx.world.checkpoints))
    add_checkpoint_scan(ctx, t, checkpoint, "in", person, travel=risky_travel(ctx, t))
    way = ctx.rng.choice(("silent", "untested", "old-test", "late-result"))
    if way == "silent":
        return
    shown = t + ctx.rng.randrange(3 * HOUR_MS, 20 * HOUR_MS)
    fields: dict[str, object] = {}
    if way == "old-test":
        fields["nat"] = {
            "result": "negative",
            "sampled_at": iso(t - ctx.rng.randrange(HOUR_MS, 40 * HOUR_MS)),
        }
    elif way == "late-result":
        fields["nat"] = {"result": "negative", "sampled_at": iso(shown)}
        shown = t + within + ctx.rng.randrange(MINUTE_MS, 2 * HOUR_MS)
    if shown < ctx.end:
        add_venue_scan(
            ctx, shown, open_venue(ctx, shown, ("hotel", "restaurant")), person, **fields
        )
