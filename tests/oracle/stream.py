"""The input as the rules see it: deduplicated, lateness marked, in global order, places resolved.

`run_rules` is given the records in arrival order (the order of the event file). From that:

1. drop any record whose `event_id` was seen before (the first one is kept);
2. mark late events: the watermark on arrival is the highest `event_time` of the events that
   arrived before, minus the allowed lateness; an event strictly older than it is late;
3. sort everything by `(event_time, event_id)`, reference records with key `""`;
4. walk that order, applying reference records, and resolve each scan's place, coordinates,
   venue attributes and risky travel as of its time.

Choice (docs/rules.md is silent): reference records (`risk_area`, `venue`) neither move the
watermark nor count as "the last event"; only the three event feeds (those with an
`event_id`) do. Reference records are never late: their `event_time` is "effective from".
Choice: several reference records for one key at the same instant: the last in the file wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.oracle.world import SITE_COORDINATES, ReferenceState, Venue, parse_time

REFERENCE_FEEDS = frozenset({"risk_area", "venue"})
SCAN_FEEDS = frozenset({"checkpoint_scan", "venue_scan"})


@dataclass
class Record:
    """One event (never a reference record) with what the rules need resolved."""

    data: dict[str, Any]
    feed: str
    event_id: str
    time: datetime
    late: bool
    # Scans only, as of `time`:
    place_type: str = ""  # "checkpoint" or "venue"
    place_id: str = ""
    coords: tuple[float, float] | None = None
    venue: Venue | None = None  # venue scans: the venue's attributes; None when unregistered
    risky_travel: bool = False

    @property
    def person_id(self) -> str | None:
        person: str | None = self.data.get("person_id")
        return person

    @property
    def kind(self) -> str | None:
        kind: str | None = self.data.get("kind")
        return kind


@dataclass
class Stream:
    records: list[Record]  # the events in global order, late ones included (marked)
    cutoff: datetime | None  # last event time minus allowed lateness; None without events

    def on_time(self, *feeds: str) -> list[Record]:
        """The events of these feeds that window, sequence and deadline rules see."""
        return [r for r in self.records if not r.late and r.feed in feeds]

    def deadline_passed(self, deadline: datetime) -> bool:
        """A deadline fires only when it lies before the stream's final watermark."""
        return self.cutoff is not None and deadline < self.cutoff


def _deduplicate(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    kept: list[dict[str, Any]] = []
    for event in events:
        if event["feed"] not in REFERENCE_FEEDS:
            event_id: str = event["event_id"]
            if event_id in seen:
                continue
            seen.add(event_id)
        kept.append(event)
    return kept


def _sort_key(item: tuple[dict[str, Any], datetime, bool]) -> tuple[datetime, str]:
    event, time, _late = item
    return (time, "" if event["feed"] in REFERENCE_FEEDS else event["event_id"])


def prepare(events: Iterable[dict[str, Any]], allowed_lateness_s: int) -> Stream:
    lateness = timedelta(seconds=allowed_lateness_s)
    arrived: list[tuple[dict[str, Any], datetime, bool]] = []
    highest: datetime | None = None
    for event in _deduplicate(events):
        time = parse_time(event["event_time"])
        late = False
        if event["feed"] not in REFERENCE_FEEDS:
            late = highest is not None and time < highest - lateness
            highest = time if highest is None else max(highest, time)
        arrived.append((event, time, late))
    arrived.sort(key=_sort_key)  # stable: file order among equal keys

    state = ReferenceState()
    records: list[Record] = []
    for event, time, late in arrived:
        feed = event["feed"]
        if feed in REFERENCE_FEEDS:
            state.apply(event)
            continue
        record = Record(data=event, feed=feed, event_id=event["event_id"], time=time, late=late)
        if feed == "checkpoint_scan":
            record.place_type = "checkpoint"
            record.place_id = event["checkpoint_id"]
            record.coords = SITE_COORDINATES.get(record.place_id)
        elif feed == "venue_scan":
            record.place_type = "venue"
            record.place_id = event["venue_id"]
            record.venue = state.venue(record.place_id)
            if record.venue is not None:
                record.coords = (record.venue.lat, record.venue.lon)
        if feed in SCAN_FEEDS:
            record.risky_travel = state.risky_travel(event.get("travel"))
        records.append(record)
    cutoff = None if highest is None else highest - lateness
    return Stream(records=records, cutoff=cutoff)
