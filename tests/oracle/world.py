"""Time, places and reference state (risk areas, venues) as docs/rules.md defines them."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

EARTH_RADIUS_KM = 6371.0
LOCAL_TZ = timezone(timedelta(hours=8))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PLACES_FILE = Path(__file__).resolve().parents[2] / "rules" / "defaults.toml"
"""The places' one home, read here as data (TOML), never through the rules code."""
_PLACES: dict[str, dict[str, Any]] = tomllib.loads(PLACES_FILE.read_text(encoding="utf-8"))[
    "places"
]

# docs/domain.md: the five checkpoints and the bus station, (lat, lon).
SITE_COORDINATES: dict[str, tuple[float, float]] = {
    place_id: (place["lat"], place["lon"]) for place_id, place in _PLACES.items()
}
KEY_SITES: tuple[str, ...] = tuple(p for p, place in _PLACES.items() if place.get("key_site"))
RISKY_LEVELS = frozenset({"medium", "high"})


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text!r}")
    return moment


def local_day(moment: datetime) -> date:
    """The calendar day in UTC+08:00."""
    return moment.astimezone(LOCAL_TZ).date()


def window_index(moment: datetime, length_s: int) -> int:
    """Epoch-aligned tumbling window number; window k is [k*len, (k+1)*len) since the epoch."""
    return (moment - EPOCH) // timedelta(seconds=length_s)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@dataclass(frozen=True)
class Venue:
    """A venue's attributes as of some time (from its latest `venue` record)."""

    venue_id: str
    type: str
    lat: float
    lon: float
    capacity: int
    status: str


class ReferenceState:
    """The reference feeds applied in order; lookups answer "as of now".

    The caller applies records in the global order, so the state at an event is the state
    as of the event's time (reference records sort first at equal times).
    """

    def __init__(self) -> None:
        self.risk_levels: dict[str, str] = {}
        self.venues: dict[str, Venue] = {}

    def apply(self, record: dict[str, Any]) -> None:
        if record["feed"] == "risk_area":
            self.risk_levels[record["area_code"]] = record["level"]
        elif record["feed"] == "venue":
            self.venues[record["venue_id"]] = Venue(
                venue_id=record["venue_id"],
                type=record["type"],
                lat=record["lat"],
                lon=record["lon"],
                capacity=record["capacity"],
                status=record["status"],
            )

    def venue(self, venue_id: str) -> Venue | None:
        """None: unregistered (unknown type, no coordinates, no capacity, not closed)."""
        return self.venues.get(venue_id)

    def risky_travel(self, travel: dict[str, Any] | None) -> bool:
        """`travel.star`, or an area of `travel.areas` medium or high; no `travel`: False."""
        if travel is None:
            return False
        if travel.get("star"):
            return True
        return any(self.risk_levels.get(area) in RISKY_LEVELS for area in travel.get("areas", []))
