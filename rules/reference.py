"""Reference state as of any time: the risk-area list and the venue register, with history.

Owned by the engine (one per engine partition: reference records are
broadcast to every partition) and read by the rules. docs/rules.md asks for
the state *at the event's time*: the latest record of the key with
``event_time <= t``. Keeping each key's versions (they change rarely) answers
that exactly for any ``t``: for events processed in order, for late events
that only pass the per-event rules, and for a reference record that arrives
a little after events of a later time were buffered. Versions older than the
watermark less the state horizon are pruned, keeping the one in force.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from rules.clock import to_us
from schemas.feeds import RiskArea, Travel, Venue

__all__ = ["RISKY_LEVELS", "ReferenceHistory", "VenueInfo"]

RISKY_LEVELS: Final = frozenset({"medium", "high"})
"""Risk levels that make travel through an area risky."""


@dataclass(frozen=True, slots=True)
class VenueInfo:
    """A venue's attributes from one ``venue`` record."""

    venue_id: str
    name: str
    type: str
    grid: str
    lat: float
    lon: float
    capacity: int
    status: str

    @classmethod
    def of(cls, record: Venue) -> VenueInfo:
        """The attributes a ``venue`` record sets."""
        return cls(
            record.venue_id,
            record.name,
            record.type,
            record.grid,
            record.lat,
            record.lon,
            record.capacity,
            record.status,
        )

    def as_json(self) -> list[Any]:
        """A compact JSON form for snapshots."""
        return [
            self.venue_id,
            self.name,
            self.type,
            self.grid,
            self.lat,
            self.lon,
            self.capacity,
            self.status,
        ]


@dataclass
class _Versions:
    """One key's versions, sorted by time: parallel lists for ``bisect``."""

    times: list[int] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)

    def put(self, time: int, value: Any) -> None:
        """Add a version; at an existing time the later arrival wins."""
        i = bisect_right(self.times, time)
        if i and self.times[i - 1] == time:
            self.values[i - 1] = value
            return
        self.times.insert(i, time)
        self.values.insert(i, value)

    def at(self, time: int) -> Any:
        """The value in force at ``time``, or None before the first version."""
        times = self.times
        if times[-1] <= time:
            return self.values[-1]
        i = bisect_right(times, time)
        return self.values[i - 1] if i else None

    def prune(self, before: int) -> None:
        """Drop versions superseded before ``before``; the one in force then stays."""
        i = bisect_right(self.times, before) - 1
        if i > 0:
            del self.times[:i]
            del self.values[:i]


class ReferenceHistory:
    """Risk levels by area and venue attributes by venue, each with its versions."""

    def __init__(self) -> None:
        self._risk: dict[str, _Versions] = {}
        self._venues: dict[str, _Versions] = {}

    def apply(self, record: RiskArea | Venue) -> int:
        """Record a reference record; returns its time (microseconds)."""
        time = to_us(record.event_time)
        if isinstance(record, RiskArea):
            self._risk.setdefault(record.area_code, _Versions()).put(time, record.level)
        else:
            self._venues.setdefault(record.venue_id, _Versions()).put(time, VenueInfo.of(record))
        return time

    def level_at(self, area_code: str, time: int) -> str | None:
        """The risk level of an area at ``time``; None without a record."""
        versions = self._risk.get(area_code)
        if versions is None:
            return None
        level: str | None = versions.at(time)
        return level

    def venue_at(self, venue_id: str, time: int) -> VenueInfo | None:
        """A venue's attributes at ``time``; None when unregistered then."""
        versions = self._venues.get(venue_id)
        if versions is None:
            return None
        info: VenueInfo | None = versions.at(time)
        return info

    def risky(self, travel: Travel | None, time: int) -> bool:
        """docs/rules.md "risky travel": the star, or an area medium or high at ``time``."""
        if travel is None:
            return False
        if travel.star:
            return True
        risk = self._risk
        for area in travel.areas:
            versions = risk.get(area)
            if versions is not None and versions.at(time) in RISKY_LEVELS:
                return True
        return False

    def prune(self, before: int) -> None:
        """Forget versions superseded before ``before`` (the engine's state horizon)."""
        for versions in (*self._risk.values(), *self._venues.values()):
            versions.prune(before)

    def as_json(self) -> dict[str, Any]:
        """A JSON-able snapshot: ``{"risk": {area: [[t, level]...]}, "venues": {...}}``."""
        return {
            "risk": {k: list(zip(v.times, v.values, strict=True)) for k, v in self._risk.items()},
            "venues": {
                k: [[t, info.as_json()] for t, info in zip(v.times, v.values, strict=True)]
                for k, v in self._venues.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReferenceHistory:
        """The history ``as_json`` wrote."""
        history = cls()
        for area, versions in data["risk"].items():
            history._risk[area] = _load(versions, str)
        for venue_id, versions in data["venues"].items():
            history._venues[venue_id] = _load(versions, lambda row: VenueInfo(*row))
        return history


def _load(rows: Iterable[list[Any]], make: Callable[[Any], Any]) -> _Versions:
    """Versions from snapshot rows, which ``as_json`` wrote in time order."""
    pairs = [(int(time), make(value)) for time, value in rows]
    return _Versions([t for t, _ in pairs], [v for _, v in pairs])
