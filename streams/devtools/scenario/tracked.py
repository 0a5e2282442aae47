"""Tracked records: every line the generator must remember after writing it.

Background scans are written straight from tables and forgotten. Everything else
(reference records, patrol events, injected anomalies, malformed lines) is a
``Tracked`` item: planned ahead in a ``Plan``, merged into the background by
``(time, tag, order)``, given its ``event_id`` and line number when written, and
read again by ``labels`` to derive the expected alerts. The builders here keep
each feed's fields in the order of docs/feeds.md.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from streams.devtools.scenario.clock import iso

__all__ = [
    "FEED_PREFIX",
    "FEED_TAG",
    "TAG_MALFORMED",
    "TAG_MARKER",
    "InboundView",
    "MarkerHost",
    "Plan",
    "Tracked",
    "checkpoint_scan",
    "patrol_event",
    "venue_scan",
]

FEED_TAG = {"risk_area": 0, "venue": 0, "checkpoint_scan": 1, "patrol_event": 2, "venue_scan": 3}
"""Order at equal times: reference records first (rules.md), then the feeds in a fixed order."""
FEED_PREFIX = {"checkpoint_scan": "cp", "patrol_event": "pe", "venue_scan": "vs"}
"""The feed's suffix in event ids (``ev-0000000042-cp``)."""
TAG_MALFORMED = 4
TAG_MARKER = 5

Data = dict[str, Any]


class Tracked:
    """One planned line. ``data`` is the record (None for markers and malformed lines)."""

    __slots__ = (
        "action",
        "data",
        "event_id",
        "id_feed",
        "line",
        "order",
        "reason",
        "render",
        "tag",
        "time",
    )

    def __init__(self, time: int, tag: int, data: Data | None = None) -> None:
        self.time = time
        """Event time, epoch ms."""
        self.tag = tag
        self.order = 0
        """Creation order, set by ``Plan.add``; breaks ties at equal time and tag."""
        self.data = data
        self.event_id = ""
        """Set when written (events only)."""
        self.line = 0
        """1-based line number in the output, set when written (0 for markers)."""
        self.reason = ""
        """Malformed lines: the expected reason code."""
        self.render: Callable[[str], bytes] | None = None
        """Malformed lines: the raw line for a given event id."""
        self.id_feed = ""
        """Malformed lines: the feed whose event_id sequence the line takes a number from."""
        self.action: Callable[[MarkerHost], None] | None = None
        """Markers: called when the writer reaches ``time`` (e.g. a surge burst)."""

    @property
    def feed(self) -> str:
        """The record's feed, or "" for markers and malformed lines."""
        return self.data["feed"] if self.data is not None else ""


class InboundView(NamedTuple):
    """A checkpoint's inbound count in the current 5-minute window and its baseline."""

    updates: int
    """Windows that have updated the baseline (judging starts at 12)."""
    mean: float
    var: float
    scans: int
    """Inbound scans written so far in the current window."""
    window_end: int
    """End of the current window, epoch ms."""


class MarkerHost(Protocol):
    """What the writer offers a marker's action."""

    def inbound(self, checkpoint: int) -> InboundView:
        """The inbound state of ``checkpoint`` (index in ``World.checkpoints``) now."""
        ...

    def freeze_inbound(self, checkpoint: int) -> None:
        """No more background inbound scans at ``checkpoint`` in the current window."""
        ...

    def schedule(self, item: Tracked) -> None:
        """Plan ``item`` (at or after now) as if it had been planned from the start."""
        ...


class Plan:
    """The tracked items still to write, popped in writing order."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, int, Tracked]] = []
        self._order = 0

    def stamp(self, item: Tracked) -> Tracked:
        """Give ``item`` the next creation order (``add`` does this itself)."""
        self._order += 1
        item.order = self._order
        return item

    def add(self, item: Tracked) -> Tracked:
        """Schedule ``item``; returns it."""
        self.stamp(item)
        heapq.heappush(self._heap, (item.time, item.tag, item.order, item))
        return item

    def record(self, time: int, data: Data) -> Tracked:
        """Schedule a record of ``data['feed']`` at ``time``."""
        return self.add(Tracked(time, FEED_TAG[data["feed"]], data))

    def pop_before(self, time: int) -> list[Tracked]:
        """Every item with ``item.time < time``, in writing order."""
        heap, out = self._heap, []
        while heap and heap[0][0] < time:
            out.append(heapq.heappop(heap)[3])
        return out

    def __len__(self) -> int:
        return len(self._heap)


def checkpoint_scan(
    time: int, checkpoint_id: str, direction: str, person: tuple[str | None, str | None]
) -> Data:
    """A checkpoint scan with the background's healthy defaults; callers override fields."""
    data: Data = {
        "feed": "checkpoint_scan",
        "event_id": "",
        "event_time": iso(time),
        "checkpoint_id": checkpoint_id,
        "direction": direction,
        "person_id": person[0],
    }
    if person[1] is not None:
        data["phone"] = person[1]
    data.update(temperature_c=36.5, health_code="green", travel={"star": False, "areas": []})
    return data


def venue_scan(time: int, venue_id: str, person: tuple[str | None, str | None]) -> Data:
    """A visitor's venue scan with healthy defaults; callers override fields."""
    data: Data = {
        "feed": "venue_scan",
        "event_id": "",
        "event_time": iso(time),
        "venue_id": venue_id,
        "person_id": person[0],
    }
    if person[1] is not None:
        data["phone"] = person[1]
    data.update(role="visitor", health_code="green", temperature_c=36.5, mask=True)
    return data


def patrol_event(time: int, unit_id: str, kind: str, **fields: Any) -> Data:
    """A patrol event; ``fields`` in docs/feeds.md order (site_id, incident_id, ...)."""
    data: Data = {
        "feed": "patrol_event",
        "event_id": "",
        "event_time": iso(time),
        "unit_id": unit_id,
        "kind": kind,
    }
    data.update(fields)
    return data
