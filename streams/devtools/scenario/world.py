"""The world of a scenario: venues in every grid, and the people who scan there.

Built once per scenario by ``build_world`` from its own random stream, before any
event is written. Venues of every type of docs/feeds.md stand in each of the 21 grids
(the 37 closed mahjong parlours among them), with coordinates inside the grid's
disc and capacities by type. People belong to a grid (residents and travellers
staying there) or pass one checkpoint only (through traffic). A grid is attached
to its nearest checkpoint when every venue of the grid lies within
``places.local_reach_km`` of it, so a background person's places are never as
far apart as impossible travel needs. The checkpoints and key sites are those
of the rules configuration.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from rules import RulesConfig
from streams.devtools.scenario.options import ScenarioOptions, seeded
from streams.devtools.scenario.people import (
    HOME_COUNTY,
    RISK_COUNTIES,
    SAFE_COUNTIES,
    IdFactory,
    Person,
)
from streams.devtools.scenario.places import GRIDS, Site, haversine_km, local_reach_km, sites_of

__all__ = ["CLOSED_MAHJONG", "VENUE_TYPES", "Venue", "World", "build_world"]

CLOSED_MAHJONG = 37
"""Mahjong parlours ordered closed (docs/domain.md)."""

# type: (id code, name endings, capacity range, count share, popularity)
VENUE_TYPES: dict[str, tuple[str, tuple[str, ...], tuple[int, int], float, float]] = {
    "pharmacy": ("ph", ("大药房", "药店"), (10, 40), 0.08, 1.5),
    "restaurant": ("rs", ("饭店", "火锅店", "雅鱼馆", "面馆"), (30, 200), 0.22, 1.2),
    "hotel": ("ht", ("宾馆", "酒店"), (40, 300), 0.06, 0.6),
    "mahjong": ("mj", ("棋牌室", "麻将馆"), (16, 60), 0.02, 0.8),
    "bus_station": ("bs", ("客运招呼站",), (40, 150), 0.01, 1.0),
    "mall": ("ml", ("商场", "购物中心"), (400, 3000), 0.03, 1.0),
    "supermarket": ("sm", ("超市", "便民超市"), (80, 600), 0.10, 1.2),
    "residential": ("rd", ("小区", "花园"), (200, 2500), 0.22, 0.8),
    "construction_site": ("cs", ("项目工地",), (40, 400), 0.06, 0.6),
    "police_station": ("ps", ("警务室",), (10, 40), 0.02, 0.8),
    "other": ("ot", ("茶馆", "理发店", "网吧"), (20, 150), 0.18, 1.0),
}
_WORDS = ("康宁", "福源", "鑫源", "兴隆", "阳光", "和平", "雅州", "熊猫",
          "蒙顶", "青衣", "金凤", "华兴", "安康", "顺达", "嘉禾", "锦绣")  # fmt: skip
TRAVELLER_SHARE = 0.12
TRANSIT_SHARE = 0.15
BUS_STATION_SITE = "bus-station"
"""The key site the main bus station venue stands at (when configured)."""
_BUS_STATION_VENUE = ("yaan-bus-station", "雅安汽车客运站", 1500)
"""The main bus station's venue id, register name and capacity."""


@dataclass
class Venue:
    """A registered venue; ``closed_from`` None means open all along."""

    index: int
    venue_id: str
    name: str
    type: str
    grid: int
    """Index into ``GRIDS``."""
    lat: float
    lon: float
    capacity: int
    closed_from: int | None = None
    """Epoch ms from which the venue is closed (the start: closed from the first record)."""


@dataclass
class World:
    """Venues and people; read-only once built."""

    venues: list[Venue]
    grid_people: list[list[Person]]
    """People who live or stay in each grid (index as ``GRIDS``)."""
    checkpoint_people: list[list[Person]]
    """People who may pass each checkpoint (index as ``checkpoints``)."""
    grid_checkpoint: list[int | None]
    """The checkpoint a grid's people use, when one is near enough."""
    ids: IdFactory
    checkpoints: tuple[Site, ...]
    """The configured checkpoints, in the configuration's order."""
    key_sites: tuple[Site, ...]
    """The configured key sites (patrols check in there), in order."""
    coordinates: dict[str, tuple[float, float]]
    """Every configured place's (lat, lon), by id."""
    by_type: dict[str, list[Venue]] = field(default_factory=dict)

    def open_at(self, venue: Venue, ms: int) -> bool:
        """Whether ``venue`` is open at ``ms``."""
        return venue.closed_from is None or ms < venue.closed_from

    def local_person(self, rng: random.Random, venue: Venue) -> Person:
        """A background person of ``venue``'s grid: scanning there never looks like travel."""
        return rng.choice(self.grid_people[venue.grid])


def _venue_count(options: ScenarioOptions) -> int:
    peak_per_window = options.rate * 2.5 * 0.8 * 900
    by_rate = math.ceil(3 * peak_per_window / 350)
    return max(by_rate, options.population // 30, 260)


def _type_plan(total: int, rng: random.Random) -> list[list[str]]:
    """Per grid, the types of its venues: one of each, the closed parlours, then by share."""
    plan = [list(VENUE_TYPES) for _ in GRIDS]
    for k in range(CLOSED_MAHJONG - len(GRIDS)):
        plan[k % len(GRIDS)].append("mahjong")
    types = list(VENUE_TYPES)
    shares = [VENUE_TYPES[t][3] for t in types]
    grid_weights = [g.weight for g in GRIDS]
    extra = total - sum(len(p) for p in plan)
    for grid, kind in zip(
        rng.choices(range(len(GRIDS)), grid_weights, k=max(0, extra)),
        rng.choices(types, shares, k=max(0, extra)),
        strict=True,
    ):
        plan[grid].append(kind)
    return plan


def _place(rng: random.Random, grid_index: int) -> tuple[float, float]:
    grid = GRIDS[grid_index]
    distance = grid.radius_km * math.sqrt(rng.random()) * 0.98
    angle = rng.random() * 2 * math.pi
    lat = grid.lat + distance * math.cos(angle) / 110.57
    lon = grid.lon + distance * math.sin(angle) / (111.32 * math.cos(math.radians(grid.lat)))
    return round(lat, 6), round(lon, 6)


def _make_venues(
    options: ScenarioOptions, rng: random.Random, sites: tuple[Site, ...]
) -> list[Venue]:
    venues: list[Venue] = []
    counters: dict[str, int] = {}
    for grid_index, kinds in enumerate(_type_plan(_venue_count(options), rng)):
        key = GRIDS[grid_index].grid_id.split("-", 1)[1]
        for kind in kinds:
            code, endings, (low, high), _share, _pop = VENUE_TYPES[kind]
            number = counters[key + code] = counters.get(key + code, 0) + 1
            name = GRIDS[grid_index].name[:2] + rng.choice(_WORDS) + rng.choice(endings)
            lat, lon = _place(rng, grid_index)
            capacity = rng.randint(low, high)
            venue_id = f"{key}-{code}-{number:03d}"
            venues.append(Venue(len(venues), venue_id, name, kind, grid_index, lat, lon, capacity))
    main = next(v for v in venues if v.type == "bus_station" and v.grid == 0)
    main.venue_id, main.name, main.capacity = _BUS_STATION_VENUE
    site = next((s for s in sites if s.site_id == BUS_STATION_SITE), None)
    if site is not None:
        main.lat, main.lon = site.lat, site.lon
    return venues


def _close_parlours(venues: list[Venue], options: ScenarioOptions, rng: random.Random) -> None:
    """37 parlours closed: most from the start, seven by a record during the scenario."""
    parlours = [v for v in venues if v.type == "mahjong"]
    closed = rng.sample(parlours, CLOSED_MAHJONG)
    horizon = min(options.duration_s, 86400) * 1000
    for k, venue in enumerate(closed):
        late = k < 7 and horizon >= 3_600_000
        offset = rng.randrange(horizon // 10, horizon // 2) if late else 0
        venue.closed_from = options.start_ms + offset


def _grid_checkpoints(checkpoints: tuple[Site, ...], reach_km: float) -> list[int | None]:
    attached: list[int | None] = []
    for grid in GRIDS:
        reach = [
            (haversine_km(grid.lat, grid.lon, c.lat, c.lon), k) for k, c in enumerate(checkpoints)
        ]
        distance, nearest = min(reach, default=(math.inf, 0))
        attached.append(nearest if distance + grid.radius_km <= reach_km else None)
    return attached


def _people(
    options: ScenarioOptions, ids: IdFactory, rng: random.Random, config: RulesConfig
) -> World:
    counties = [c for c in (*SAFE_COUNTIES, *RISK_COUNTIES) if c != HOME_COUNTY]
    total_weight = sum(g.weight for g in GRIDS)
    settled = options.population * (1 - TRANSIT_SHARE)
    grid_people: list[list[Person]] = []
    for grid in GRIDS:
        size = max(20, round(settled * grid.weight / total_weight))
        grid_people.append(
            [
                ids.new_person(
                    rng.choice(counties) if rng.random() < TRAVELLER_SHARE else HOME_COUNTY
                )
                for _ in range(size)
            ]
        )
    sites = sites_of(config.places)
    checkpoints = tuple(s for s in sites if s.checkpoint)
    reach = local_reach_km(config.thresholds.impossible_travel_min_km)
    attached = _grid_checkpoints(checkpoints, reach)
    weight = sum(c.weight for c in checkpoints)
    checkpoint_people: list[list[Person]] = []
    for k, checkpoint in enumerate(checkpoints):
        size = max(20, round(options.population * TRANSIT_SHARE * checkpoint.weight / weight))
        transit = [ids.new_person(rng.choice(counties)) for _ in range(size)]
        for g, people in enumerate(grid_people):
            if attached[g] == k:
                transit.extend(people)
        checkpoint_people.append(transit)
    key_sites = tuple(s for s in sites if s.key_site)
    coordinates = {s.site_id: (s.lat, s.lon) for s in sites}
    return World(
        [], grid_people, checkpoint_people, attached, ids, checkpoints, key_sites, coordinates
    )


def build_world(options: ScenarioOptions, config: RulesConfig) -> World:
    """Venues and people of the scenario ``options`` describes, at the places of ``config``;
    deterministic in the seed."""
    rng = seeded("world", options.seed)
    world = _people(options, IdFactory(seeded("ids", options.seed)), rng, config)
    world.venues = _make_venues(options, rng, sites_of(config.places))
    _close_parlours(world.venues, options, rng)
    for venue in world.venues:
        world.by_type.setdefault(venue.type, []).append(venue)
    return world
