"""Anomaly makers for the window, sequence and person rules.

``noncompliance`` (failing scans in one local day), ``crowding`` (more scans in a
15-minute window than the venue holds; background scans keep off that venue and
window), ``surge`` (a coach-load at a checkpoint, sized when the writer gets there
from the live baseline), ``impossible_travel`` (a newcomer at two far places in
minutes) and ``returnee_untested`` (a risky entry never shown tested in 24 h).
"""

from __future__ import annotations

import math

from streams.devtools.scenario.clock import HOUR_MS, MINUTE_MS, iso, local_day, local_day_start
from streams.devtools.scenario.context import Context
from streams.devtools.scenario.inject import (
    REQUIRED_TYPES,
    add_checkpoint_scan,
    add_venue_scan,
    local_travel,
    newcomer,
    open_venue,
    risky_travel,
)
from streams.devtools.scenario.people import Person
from streams.devtools.scenario.places import CHECKPOINTS, haversine_km
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

SURGE_SIGMAS, SURGE_MIN_EXCESS, SURGE_WARMUP = 4.0, 20.0, 12
CROWDING_WINDOW_MS = 900_000
SURGE_WINDOW_MS = 300_000
FAR_KM = 8.0
"""Injected impossible travel spans at least this, at 300 km/h or more."""


def failing_fields(ctx: Context, venue: Venue) -> dict[str, object]:
    """The fields of one failing scan at a venue that must take temperatures."""
    modes = ["no-temperature", "staff-no-mask"] + (
        ["unregistered"] if venue.type == "pharmacy" else []
    )
    mode = ctx.rng.choice(modes)
    if mode == "no-temperature":
        return {"temperature_c": None}
    if mode == "staff-no-mask":
        return {"role": "staff", "mask": False}
    return {"purchase": {"category": "fever", "registered": False}}


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
    """venue-noncompliance: 3 or 4 failing scans at one venue in one local day."""
    venue = open_venue(ctx, t, REQUIRED_TYPES)
    for at in same_day_times(ctx, t, ctx.rng.choice((3, 3, 4))):
        person = ctx.world.local_person(ctx.rng, venue)
        add_venue_scan(ctx, at, venue, person, **failing_fields(ctx, venue))


def crowding(ctx: Context, t: int) -> None:
    """crowding: capacity + 1 or more scans at a small venue in one 15-minute window."""
    types = ("pharmacy", "police_station", "other", "restaurant")
    venue = open_venue(ctx, t, types, max_capacity=40)
    window = t // CROWDING_WINDOW_MS
    low = max(window * CROWDING_WINDOW_MS, ctx.start)
    high = min((window + 1) * CROWDING_WINDOW_MS, ctx.end)
    ctx.crowding_blocks.add((venue.index, window))
    count = venue.capacity + 1 + ctx.rng.randrange(3)
    for at in sorted(ctx.rng.randrange(low, high) for _ in range(count)):
        add_venue_scan(ctx, at, venue, ctx.world.local_person(ctx.rng, venue))


def surge_target(mean: float, var: float, count: int) -> int:
    """The least window count above ``count`` that fires checkpoint-surge (rules.md)."""
    n = max(count + 1, math.ceil(mean + max(SURGE_MIN_EXCESS, SURGE_SIGMAS * math.sqrt(var))))
    while n > count + 1 and _fires(n - 1, mean, var):
        n -= 1
    while not _fires(n, mean, var):
        n += 1
    return n


def _fires(n: int, mean: float, var: float) -> bool:
    excess = n - mean
    return excess > SURGE_SIGMAS * math.sqrt(var) and excess >= SURGE_MIN_EXCESS


def surge(ctx: Context, t: int) -> None:
    """checkpoint-surge: a marker that, once the writer reaches it, plans the coach-load."""
    checkpoint = ctx.rng.randrange(len(CHECKPOINTS))
    at = t // SURGE_WINDOW_MS * SURGE_WINDOW_MS + ctx.rng.randrange(150_000, 200_000)
    at = max(at, t)
    if at < ctx.end:
        marker = Tracked(at, TAG_MARKER)
        marker.action = lambda host: _burst(ctx, host, checkpoint, at)
        ctx.plan.add(marker)


def _retry_later(ctx: Context, host: MarkerHost, checkpoint: int, at: int) -> None:
    later = (at // SURGE_WINDOW_MS + 1) * SURGE_WINDOW_MS + 150_000  # mid-way into the next
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
    if view.updates < SURGE_WARMUP or last <= at:  # not judged yet, or no room: next window
        _retry_later(ctx, host, checkpoint, at)
        return
    host.freeze_inbound(checkpoint)
    size = surge_target(view.mean, view.var, view.scans) - view.scans + ctx.rng.randrange(1, 5)
    site = CHECKPOINTS[checkpoint].site_id
    for when in sorted(ctx.rng.randint(at + 1, last) for _ in range(size)):
        person = newcomer(ctx)
        data = checkpoint_scan(when, site, "in", (person.person_id, person.phone))
        data["travel"] = local_travel(ctx)
        host.schedule(Tracked(when, 1, data))


def _places(ctx: Context, t: int) -> list[tuple[int, Venue | None]]:
    """Candidate scan places: every checkpoint (index, None) and some open venues (-1, v)."""
    places: list[tuple[int, Venue | None]] = [(k, None) for k in range(len(CHECKPOINTS))]
    places += [(-1, open_venue(ctx, t)) for _ in range(30)]
    return places


def _coords(place: tuple[int, Venue | None]) -> tuple[float, float]:
    index, venue = place
    if venue is not None:
        return venue.lat, venue.lon
    return CHECKPOINTS[index].lat, CHECKPOINTS[index].lon


def _scan_at(ctx: Context, t: int, place: tuple[int, Venue | None], person: Person) -> None:
    index, venue = place
    if venue is not None:
        add_venue_scan(ctx, t, venue, person)
    else:
        add_checkpoint_scan(ctx, t, index, ctx.rng.choice(("in", "out")), person)


def impossible_travel(ctx: Context, t: int) -> None:
    """impossible-travel: a newcomer's code at two places 8+ km apart at 300+ km/h."""
    places = _places(ctx, t)
    first = ctx.rng.choice(places)
    far = [p for p in places if haversine_km(*_coords(first), *_coords(p)) >= FAR_KM]
    if not far:
        first, far = (4, None), [(2, None)]  # caoba-toll and xikang-bridge, 15 km apart
    second = ctx.rng.choice(far)
    distance = haversine_km(*_coords(first), *_coords(second))
    longest = int(distance / 300 * HOUR_MS)
    step = 0 if ctx.rng.random() < 0.2 else ctx.rng.randrange(min(20_000, longest), longest + 1)
    person = newcomer(ctx)
    _scan_at(ctx, t, first, person)
    _scan_at(ctx, t + step, second, person)
    if ctx.rng.random() < 0.3 and t + 2 * step < ctx.end:  # and straight back: a second alert
        _scan_at(ctx, t + 2 * step, first, person)


def returnee_untested(ctx: Context, t: int) -> None:
    """returnee-untested: a risky entry, then no test shown within 24 h (four ways)."""
    person = newcomer(ctx)
    checkpoint = ctx.rng.randrange(len(CHECKPOINTS))
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
        shown = t + 24 * HOUR_MS + ctx.rng.randrange(MINUTE_MS, 2 * HOUR_MS)
    if shown < ctx.end:
        add_venue_scan(
            ctx, shown, open_venue(ctx, shown, ("hotel", "restaurant")), person, **fields
        )
