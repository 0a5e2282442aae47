"""Background traffic: the day's rhythm and the precomputed pieces of every scan line.

The writer turns each background scan into one ``%`` format of strings chosen
here: a venue (by a lottery weighted by capacity and popularity, closed
parlours never drawn), one of its grid's people, a "tail" (role, code,
temperature, mask, travel, test, purchase) from the venue type's table. The
tails are healthy by construction: green codes, 35.8-37.2 C, safe counties,
yesterday's negative tests, no medicine that must be registered, staff masked
where temperatures are required (``temperature_required_types``), temperatures
0.1 C below ``fever_warning_c`` at most. Rebuilt each local day (test dates move).
"""

from __future__ import annotations

import math
import random

from rules import Thresholds
from streams.devtools.scenario.clock import local_day_start, local_hour, second_prefix
from streams.devtools.scenario.options import seeded
from streams.devtools.scenario.people import HOME_COUNTY, SAFE_COUNTIES, make_plate
from streams.devtools.scenario.world import VENUE_TYPES, World

__all__ = ["CHECKPOINT_SHARE", "LOTTERY_BITS", "Tables", "expected_count", "rhythm"]

LOTTERY_BITS = 16
CHECKPOINT_SHARE = 56
"""Of 256: the share of background scans taken at checkpoints (about 22 %)."""
_TRAVEL_TYPES = frozenset({"bus_station", "hotel"})
_PLATES = ("川T", "川T", "川T", "川A", "川L", "川Z", "渝A", "云A", "藏A", "京N", "粤B")
# Local hour -> relative traffic: quiet nights, a morning and an evening rush.
_SHAPE = (0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.5, 1.3, 2.2, 1.6, 1.2, 1.3,
          1.5, 1.3, 1.1, 1.1, 1.3, 1.8, 2.0, 1.6, 1.2, 0.9, 0.6, 0.3)  # fmt: skip


def rhythm(ms: int) -> float:
    """Relative traffic at ``ms`` (piecewise linear over the local hours)."""
    hour = local_hour(ms)
    low = int(hour)
    return _SHAPE[low] + (_SHAPE[(low + 1) % 24] - _SHAPE[low]) * (hour - low)


def _temperature(rng: random.Random, top: float) -> str:
    return f"{min(top, max(35.8, rng.gauss(36.5, 0.25))):.1f}"


def _travel(rng: random.Random) -> str:
    areas = [HOME_COUNTY]
    if rng.random() < 0.4:
        areas.insert(0, rng.choice(list(SAFE_COUNTIES)))
    listed = ",".join(f'"{a}"' for a in areas)
    return f'"travel":{{"star":false,"areas":[{listed}]}}'


def _nat(rng: random.Random, day: str) -> str:
    at = f"{day}T{rng.randrange(7, 21):02d}:{rng.randrange(60):02d}:00.000+08:00"
    return f',"nat":{{"result":"negative","sampled_at":"{at}"}}'


def _venue_tail(kind: str, rng: random.Random, day: str, th: Thresholds) -> str:
    staff = rng.random() < 0.1
    required = kind in th.temperature_required_types
    top = round(th.fever_warning_c - 0.1, 1)
    temperature = "null" if not required and rng.random() < 0.3 else _temperature(rng, top)
    if staff:
        mask = "false" if not required and rng.random() < 0.15 else "true"
    else:
        mask = rng.choices(("true", "null", "false"), (85, 12, 3))[0]
    role = "staff" if staff else "visitor"
    tail = f'"role":"{role}","health_code":"green","temperature_c":{temperature},"mask":{mask}'
    if kind in _TRAVEL_TYPES and rng.random() < 0.6:
        tail += "," + _travel(rng)
    if rng.random() < 0.25:
        tail += _nat(rng, day)
    if kind == "pharmacy" and not staff and rng.random() < 0.4:
        tail += ',"purchase":{"category":"other","registered":false}'
    return tail + "}\n"


def _checkpoint_tail(rng: random.Random, day: str, th: Thresholds) -> str:
    tail = ""
    if rng.random() < 0.6:
        tail = f'"plate":"{make_plate(rng, rng.choice(_PLATES))}",'
    top = round(th.fever_warning_c - 0.1, 1)
    tail += f'"temperature_c":{_temperature(rng, top)},"health_code":"green",' + _travel(rng)
    if rng.random() < 0.7:
        tail += _nat(rng, day)
    return tail + "}\n"


class Tables:
    """The background's lookup tables for one world (UTF-8 pieces); tails per local day.

    A tail ends the line: its closing brace and the newline. ``thresholds`` keep the
    tails healthy.
    """

    def __init__(self, world: World, seed: int, thresholds: Thresholds) -> None:
        self._rng = seeded("tables", seed)
        self._thresholds = thresholds
        venues = world.venues
        self.capacity = [v.capacity for v in venues]
        self.venue_key = [f'"venue_id":"{v.venue_id}",'.encode() for v in venues]
        fragments = [[p.fragment.encode() for p in people] for people in world.grid_people]
        self.venue_people = [fragments[v.grid] for v in venues]
        self.types = list(VENUE_TYPES)
        self.venue_type = [self.types.index(v.type) for v in venues]
        weights = [
            0.0 if v.closed_from is not None else v.capacity * VENUE_TYPES[v.type][4]
            for v in venues
        ]
        self.venue_lottery = _lottery(weights, 1 << LOTTERY_BITS)
        self.checkpoint_lottery = _lottery([c.weight for c in world.checkpoints], 64)
        self.checkpoint_key = [
            f'"checkpoint_id":"{c.site_id}","direction":"'.encode() for c in world.checkpoints
        ]
        self.checkpoint_people = [
            [p.fragment.encode() for p in people] for people in world.checkpoint_people
        ]
        self.venue_tails: list[list[bytes]] = []
        """Per venue type."""
        self.day_tails: list[list[bytes]] = []
        """Per venue: its type's tails."""
        self.checkpoint_tails: list[bytes] = []
        self.day = -1

    def set_day(self, day: int) -> None:
        """Rebuild the tails for local ``day`` (tests were sampled the day before)."""
        if day == self.day:
            return
        self.day = day
        rng, th = self._rng, self._thresholds
        before = second_prefix(local_day_start(day - 1) // 1000)[:10]
        self.venue_tails = [
            [_venue_tail(kind, rng, before, th).encode() for _ in range(256)] for kind in self.types
        ]
        self.checkpoint_tails = [_checkpoint_tail(rng, before, th).encode() for _ in range(1024)]
        self.day_tails = [self.venue_tails[k] for k in self.venue_type]


def _lottery(weights: list[float], size: int) -> list[int]:
    """``size`` indices drawn in proportion to ``weights`` (quantiles, no randomness)."""
    total = sum(weights)
    table: list[int] = []
    reached, index = 0.0, -1
    for j in range(size):
        target = (j + 0.5) * total / size
        while reached <= target and index < len(weights) - 1:
            index += 1
            reached += weights[index]
        table.append(index)
    return table


def expected_count(lam: float, rng: random.Random) -> int:
    """A count around ``lam`` with Poisson-like spread."""
    return max(0, round(lam + math.sqrt(lam) * rng.gauss(0.0, 1.0)))
