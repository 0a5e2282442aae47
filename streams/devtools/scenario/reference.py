"""The reference feeds of a scenario: the venue register and the risk-area list.

``plan_reference`` puts both into the plan before any event: at the start the
whole venue register and the initial risk list (so they come first in the file),
later the parlour closures and the health commission's listings and clearings.
``RiskTimeline`` answers "which areas are risky at t" for the anomaly makers.
"""

from __future__ import annotations

import bisect
import random

from streams.devtools.scenario.clock import HOUR_MS, iso
from streams.devtools.scenario.options import ScenarioOptions
from streams.devtools.scenario.people import RISK_COUNTIES
from streams.devtools.scenario.places import GRIDS
from streams.devtools.scenario.tracked import Plan
from streams.devtools.scenario.world import Venue, World

__all__ = ["RiskTimeline", "plan_reference"]

_INITIAL = {"650102": "high", "540102": "high", "620102": "medium", "150102": "medium"}
_ANCHOR = "650102"
"""Listed high all along, so a risky area always exists."""


class RiskTimeline:
    """Each risk county's levels over time, as the risk_area records set them."""

    def __init__(self, start_ms: int, end_ms: int, rng: random.Random) -> None:
        self.changes: list[tuple[int, str, str]] = [(start_ms, a, lv) for a, lv in _INITIAL.items()]
        self._times: dict[str, list[int]] = {a: [start_ms] for a in _INITIAL}
        self._levels: dict[str, list[str]] = {a: [lv] for a, lv in _INITIAL.items()}
        t = start_ms + rng.randrange(2 * HOUR_MS, 5 * HOUR_MS)
        while t < end_ms:
            self._change(t, rng)
            t += rng.randrange(3 * HOUR_MS, 8 * HOUR_MS)

    def _change(self, t: int, rng: random.Random) -> None:
        area = rng.choice([a for a in RISK_COUNTIES if a != _ANCHOR])
        current = self.level_at(area, t)
        if current == "medium":
            level = rng.choice(("high", "low"))
        elif current == "high":
            level = "low"
        else:
            level = rng.choice(("medium", "high"))
        self.changes.append((t, area, level))
        self._times.setdefault(area, []).append(t)
        self._levels.setdefault(area, []).append(level)

    def level_at(self, area: str, t: int) -> str:
        """The level in force at ``t`` (records at ``t`` included); "low" when never listed."""
        times = self._times.get(area, [])
        k = bisect.bisect_right(times, t)
        return self._levels[area][k - 1] if k else "low"

    def risky_at(self, t: int) -> list[str]:
        """Risk counties listed medium or high at ``t`` (never empty)."""
        return [a for a in RISK_COUNTIES if self.level_at(a, t) in ("medium", "high")]

    def calm_at(self, t: int) -> list[str]:
        """Risk counties that are not risky at ``t`` (listed later, cleared, or never)."""
        return [a for a in RISK_COUNTIES if self.level_at(a, t) == "low"]


def _venue_record(venue: Venue, t: int, status: str) -> dict[str, object]:
    return {
        "feed": "venue",
        "venue_id": venue.venue_id,
        "name": venue.name,
        "type": venue.type,
        "grid": GRIDS[venue.grid].grid_id,
        "lat": venue.lat,
        "lon": venue.lon,
        "capacity": venue.capacity,
        "status": status,
        "event_time": iso(t),
    }


def plan_reference(
    plan: Plan, world: World, options: ScenarioOptions, rng: random.Random
) -> RiskTimeline:
    """Schedule the register, the closures and the risk list; returns the risk timeline."""
    start = options.start_ms
    for venue in world.venues:
        closed = venue.closed_from is not None and venue.closed_from <= start
        plan.record(start, _venue_record(venue, start, "closed" if closed else "open"))
        if venue.closed_from is not None and venue.closed_from > start:
            plan.record(venue.closed_from, _venue_record(venue, venue.closed_from, "closed"))
    risk = RiskTimeline(start, options.end_ms, rng)
    for t, area, level in risk.changes:
        record = {
            "feed": "risk_area",
            "area_code": area,
            "name": RISK_COUNTIES[area],
            "level": level,
            "event_time": iso(t),
        }
        plan.record(t, record)
    return risk
