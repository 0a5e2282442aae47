"""The person family (key: ``person_key``): ``impossible-travel`` and ``returnee-untested``.

Called by the engine with every scan that has a person, on time in order
(scans without a person are never routed here). Per person: the previous
scan (time, id, coordinates, place) and the open returnee entries.

- ``impossible-travel`` compares each scan with the person's previous one
  (whatever its place); a pair where either place has no coordinates
  (unknown checkpoint, unregistered venue) is not checked.
- ``returnee-untested``: an entry at ``T`` is cleared by a scan with
  ``event_time`` in ``(T, T+24h]`` whose ``nat.sampled_at`` is in ``(T,
  T+24h]``; the timer at ``T+24h`` raises the alert if it is still open. The
  clearing check reads times only, so it holds whenever the timer fires.

A person silent for ``state_horizon_s`` behind the watermark (default 48 h)
is forgotten: a pair that far apart would need over 7,000 km at 150 km/h to
count as impossible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

from rules.alerting import Person, at_checkpoint, at_scan, make_alert
from rules.clock import SECOND_US, from_us, to_us
from rules.context import Context
from schemas.clean import CleanCheckpointScan, CleanScan, CleanVenueScan, RuleEvent

__all__ = ["EARTH_RADIUS_KM", "PersonFamily", "PersonState", "haversine_km"]

EARTH_RADIUS_KM: Final = 6371.0
"""The mean Earth radius used for distances."""

_SCANS: Final = (CleanCheckpointScan, CleanVenueScan)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lat, lon) points in degrees."""
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


@dataclass(slots=True)
class PersonState:
    """One person's previous scan and open returnee entries."""

    masked: str | None
    """The masked ID, for the alerts."""
    last: int
    """Time of the previous on-time scan (microseconds)."""
    last_id: str
    """Its event id."""
    last_place: str
    """Its checkpoint or venue id."""
    last_coords: tuple[float, float] | None
    """Its coordinates; None when unknown."""
    entries: list[tuple[int, str, str]] = field(default_factory=list)
    """Open returnee entries: (time, event id, checkpoint id)."""

    def as_json(self) -> list[Any]:
        """Compact JSON form."""
        coords = None if self.last_coords is None else list(self.last_coords)
        entries = [list(e) for e in self.entries]
        return [self.masked, self.last, self.last_id, self.last_place, coords, entries]

    @classmethod
    def from_json(cls, row: list[Any]) -> PersonState:
        """The state ``as_json`` wrote."""
        coords = None if row[4] is None else (float(row[4][0]), float(row[4][1]))
        entries = [(int(t), str(i), str(c)) for t, i, c in row[5]]
        return cls(row[0], int(row[1]), row[2], row[3], coords, entries)


def _coords(ctx: Context, scan: CleanScan, time: int) -> tuple[float, float] | None:
    if isinstance(scan, CleanCheckpointScan):
        place = ctx.places.get(scan.checkpoint_id)
        return None if place is None else (place.lat, place.lon)
    venue = ctx.reference.venue_at(scan.venue_id, time)
    return None if venue is None else (venue.lat, venue.lon)


def _place_id(scan: CleanScan) -> str:
    return scan.checkpoint_id if isinstance(scan, CleanCheckpointScan) else scan.venue_id


@dataclass
class PersonFamily:
    """State per person; see the module docstring."""

    people: dict[str, PersonState] = field(default_factory=dict)

    def on_arrival(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """Person rules judge nothing on arrival."""

    def on_event(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An on-time scan of the person ``key``."""
        if not isinstance(event, _SCANS):
            return
        coords = _coords(ctx, event, time)
        state = self.people.get(key)
        if state is None:
            state = self.people[key] = PersonState(event.person_masked, time, "", "", None)
        else:
            if state.entries:
                _clear_entries(ctx, state, event, time)
            if state.last_id and state.last_coords is not None and coords is not None:
                _impossible_travel(ctx, key, state, event, time, coords)
        state.last, state.last_id, state.last_coords = time, event.event_id, coords
        state.last_place = _place_id(event)
        if (
            isinstance(event, CleanCheckpointScan)
            and event.direction == "in"
            and ctx.reference.risky(event.travel, time)
        ):
            state.entries.append((time, event.event_id, event.checkpoint_id))
            deadline = time + ctx.thresholds.returnee_test_within_s * SECOND_US
            ctx.schedule(deadline, "person", key, event.event_id)

    def on_late(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """Late scans do not count for person rules."""

    def on_timer(self, ctx: Context, key: str, deadline: int, payload: Any) -> None:
        """``returnee-untested``: the entry ``payload`` (its event id) is still open."""
        state = self.people.get(key)
        if state is None:
            return
        for entry in state.entries:
            if entry[1] == payload:
                state.entries.remove(entry)
                _returnee_alert(ctx, key, state, entry, deadline)
                return

    def prune(self, ctx: Context, before: int) -> None:
        """Forget people without open entries whose last scan is before ``before``."""
        stale = [k for k, s in self.people.items() if s.last < before and not s.entries]
        for key in stale:
            del self.people[key]

    def as_json(self) -> dict[str, Any]:
        """The states by person key."""
        return {key: state.as_json() for key, state in self.people.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PersonFamily:
        """The family ``as_json`` wrote."""
        return cls({key: PersonState.from_json(row) for key, row in data.items()})


def _clear_entries(ctx: Context, state: PersonState, scan: CleanScan, time: int) -> None:
    if scan.nat is None:
        return
    sampled = to_us(scan.nat.sampled_at)
    within = ctx.thresholds.returnee_test_within_s * SECOND_US
    state.entries = [
        entry
        for entry in state.entries
        if not (entry[0] < time <= entry[0] + within and entry[0] < sampled <= entry[0] + within)
    ]


def _impossible_travel(
    ctx: Context,
    key: str,
    state: PersonState,
    scan: CleanScan,
    time: int,
    coords: tuple[float, float],
) -> None:
    th = ctx.thresholds
    previous = state.last_coords
    if previous is None:
        return
    distance = haversine_km(previous, coords)
    if distance < th.impossible_travel_min_km:
        return
    elapsed_s = (time - state.last) / SECOND_US
    speed = math.inf if elapsed_s == 0 else distance / (elapsed_s / 3600.0)
    if elapsed_s != 0 and speed <= th.impossible_travel_kmh:
        return
    at = at_scan(ctx, scan, ctx.reference.venue_at(_place_id(scan), time))
    message = (
        f"{distance:.1f} km from {state.last_place} to {_place_id(scan)} "
        f"in {elapsed_s:.0f} s ({speed:.0f} km/h)"
    )
    person = Person(key, scan.person_masked)
    ctx.alerts.append(
        make_alert(
            "impossible-travel",
            "warning",
            (state.last_id, scan.event_id),
            scan.event_time,
            "person",
            at,
            message,
            person,
        )
    )


def _returnee_alert(
    ctx: Context, key: str, state: PersonState, entry: tuple[int, str, str], deadline: int
) -> None:
    entered, event_id, checkpoint_id = entry
    at = at_checkpoint(ctx, checkpoint_id)
    hours = ctx.thresholds.returnee_test_within_s / 3600
    message = (
        f"returnee who entered at {checkpoint_id} at {from_us(entered):%Y-%m-%d %H:%M} "
        f"has no nucleic acid test within {hours:g} h"
    )
    ctx.alerts.append(
        make_alert(
            "returnee-untested",
            "critical",
            (event_id,),
            from_us(deadline),
            "person",
            at,
            message,
            Person(key, state.masked),
        )
    )
