"""Building blocks of the anomaly makers: people, places, travel and scans.

Every injected scan goes through ``add_venue_scan`` / ``add_checkpoint_scan``.
Two kinds of people scan in injections: background people, only at places of
their own grid (so they never look like impossible travel, whatever their
untracked background scans), and people of their own (``newcomer``), all of whose
scans are injected. A risky entry through a checkpoint always belongs to a
newcomer, so its returnee obligation depends on injected scans only.
"""

from __future__ import annotations

from typing import Any

from streams.devtools.scenario.context import Context
from streams.devtools.scenario.people import HOME_COUNTY, RISK_COUNTIES, SAFE_COUNTIES, Person
from streams.devtools.scenario.tracked import Tracked, checkpoint_scan, venue_scan
from streams.devtools.scenario.world import Venue

__all__ = [
    "add_checkpoint_scan",
    "add_venue_scan",
    "checkpoint_person",
    "local_travel",
    "newcomer",
    "open_venue",
    "required_types",
    "risky_travel",
    "who",
]

Who = tuple[str | None, str | None]


def who(person: Person | None) -> Who:
    """(person_id, phone) of a person, or (None, None) for a scan without a code."""
    return (None, None) if person is None else (person.person_id, person.phone)


def required_types(ctx: Context) -> tuple[str, ...]:
    """Venue types that must take temperatures (``temperature_required_types``), in the
    rules configuration's order."""
    return tuple(ctx.thresholds.temperature_required_types)


def newcomer(ctx: Context) -> Person:
    """A traveller of their own, never seen in the background."""
    return ctx.world.ids.new_person(ctx.rng.choice([*SAFE_COUNTIES, *RISK_COUNTIES]))


def checkpoint_person(ctx: Context, checkpoint: int) -> Person:
    """A background person who uses ``checkpoint`` (through traffic or a nearby grid)."""
    return ctx.rng.choice(ctx.world.checkpoint_people[checkpoint])


def open_venue(
    ctx: Context, t: int, types: tuple[str, ...] | None = None, max_capacity: int = 10**9
) -> Venue:
    """A random venue of one of ``types`` (all by default) that is open at ``t``."""
    key = (types or tuple(ctx.world.by_type), max_capacity)
    pool = ctx.venue_pools.get(key)
    if pool is None:
        by_type = ctx.world.by_type
        pool = [v for kind in key[0] for v in by_type.get(kind, []) if v.capacity <= max_capacity]
        ctx.venue_pools[key] = pool
    for _ in range(50):  # few venues ever close: drawing until one is open is quick
        venue = ctx.rng.choice(pool)
        if ctx.world.open_at(venue, t):
            return venue
    return ctx.rng.choice([v for v in pool if ctx.world.open_at(v, t)])


def local_travel(ctx: Context) -> dict[str, Any]:
    """A travel code without risk: home and perhaps a safe county."""
    areas = [HOME_COUNTY]
    if ctx.rng.random() < 0.4:
        areas.insert(0, ctx.rng.choice(list(SAFE_COUNTIES)))
    return {"star": False, "areas": areas}


def risky_travel(ctx: Context, t: int) -> dict[str, Any]:
    """A travel code that is risky at ``t``: a starred city, or a listed county."""
    rng = ctx.rng
    if rng.random() < 0.3:
        return {"star": True, "areas": [rng.choice(list(SAFE_COUNTIES)), HOME_COUNTY]}
    return {"star": False, "areas": [rng.choice(ctx.risk.risky_at(t)), HOME_COUNTY]}


def add_venue_scan(
    ctx: Context, t: int, venue: Venue, person: Person | None, **fields: Any
) -> Tracked:
    """Plan a venue scan at ``t``; ``fields`` override the healthy defaults."""
    data = venue_scan(t, venue.venue_id, who(person))
    data.update(fields)
    return ctx.plan.record(t, data)


def add_checkpoint_scan(
    ctx: Context, t: int, checkpoint: int, direction: str, person: Person | None, **fields: Any
) -> Tracked:
    """Plan a checkpoint scan at ``t``; ``fields`` override the healthy defaults."""
    data = checkpoint_scan(t, ctx.world.checkpoints[checkpoint].site_id, direction, who(person))
    data["travel"] = local_travel(ctx)
    data.update(fields)
    return ctx.plan.record(t, data)
