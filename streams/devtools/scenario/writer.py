"""The writer: background scans merged with the tracked items, in event-time order.

``engine`` hands it one crowding window (``crowding_window_s``, 15 minutes by default) of
tracked items at a time (``start_window``), then asks for each surge window
(``surge_window_s``, 5 minutes by default) of it (``emit``) with the number of background
scans to draw. Lines leave in the order of
``(event_time, tag, creation order)``; event ids (``ev-0000000042-cp``) are one
sequence for all feeds in that order, so sorting by ``(event_time, event_id)`` as
docs/rules.md does gives back the file's order. A failed write (disk full) raises
``OSError`` and aborts the scenario; nothing is removed, the file is incomplete.
"""

from __future__ import annotations

import bisect
import json
from typing import BinaryIO

from rules import Thresholds
from streams.devtools.scenario.clock import MS_SUFFIX, local_day, second_prefix
from streams.devtools.scenario.counters import CheckpointWindows, VenueWindows
from streams.devtools.scenario.expected import Expected
from streams.devtools.scenario.options import seeded
from streams.devtools.scenario.tracked import (
    FEED_PREFIX,
    TAG_MALFORMED,
    TAG_MARKER,
    InboundView,
    Plan,
    Tracked,
)
from streams.devtools.scenario.traffic import CHECKPOINT_SHARE, LOTTERY_BITS, Tables
from streams.devtools.scenario.world import World

__all__ = ["Writer"]

_NEVER = 1 << 62
_CP = b'{"feed":"checkpoint_scan","event_id":"ev-%010d-cp","event_time":"%s%s",%s%s",%s,%s'
_VS = b'{"feed":"venue_scan","event_id":"ev-%010d-vs","event_time":"%s%s",%s%s,%s'
_MS = tuple(suffix.encode() for suffix in MS_SUFFIX)
_LOTTERY_MASK = (1 << LOTTERY_BITS) - 1


def _dump(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class Writer:
    """Writes one scenario's lines to ``sink`` and remembers what the labels need."""

    def __init__(
        self,
        sink: BinaryIO,
        world: World,
        tables: Tables,
        plan: Plan,
        seed: int,
        thresholds: Thresholds,
    ) -> None:
        self.sink, self.tables, self.plan = sink, tables, plan
        self.rng = seeded("traffic", seed)
        self.venue_index = {v.venue_id: v.index for v in world.venues}
        self.checkpoint_index = {c.site_id: k for k, c in enumerate(world.checkpoints)}
        self.venues = VenueWindows(tables.capacity)
        self.checkpoints = CheckpointWindows(len(world.checkpoints), thresholds)
        self.seq = 0
        """The last event id's number: one sequence for all feeds, in file order."""
        self.events = {"checkpoint_scan": 0, "patrol_event": 0, "venue_scan": 0}
        self.references = {"risk_area": 0, "venue": 0}
        self.written: list[Tracked] = []
        """Tracked records written, in file order (markers and malformed lines excluded)."""
        self.malformed: list[Tracked] = []
        self.alerts: list[Expected] = []
        """Crowding and surge alerts, found while writing."""
        self.last_event_ms = -1
        self.lines = 0
        """Lines written or in the buffer, background lines of a running loop excepted."""
        self.bytes = 0
        self._buffer = bytearray()
        self._running = 0
        """Background lines the running loop has added to the buffer so far."""
        self._pending: list[Tracked] = []
        self._keys: list[tuple[int, int, int]] = []
        self._pos = 0
        self._window_end = 0
        self._group_end = 0

    # -- windows ---------------------------------------------------------------------------

    def start_window(self, end: int, blocked: set[int]) -> None:
        """Take the tracked items of the crowding window ending at ``end`` from the plan;
        ``blocked`` venues get no background scans in it (an injected crowd is coming)."""
        self._pending = self.plan.pop_before(end)
        self._keys = [(i.time, i.tag, i.order) for i in self._pending]
        self._pos, self._group_end = 0, end
        injected: dict[int, int] = {}
        for item in self._pending:
            if item.feed == "venue_scan":
                venue = self.venue_index[item.data["venue_id"]] if item.data else 0
                injected[venue] = injected.get(venue, 0) + 1
        self.venues.start(injected, blocked)

    def emit(self, start: int, end: int, count: int) -> None:
        """Write the surge window [start, end): ``count`` background scans, the tracked items."""
        self._window_end = end
        self.tables.set_day(local_day(start))
        inbound = [0] * len(self.checkpoint_index)
        for item in self._pending[self._pos :]:
            data = item.data
            if (
                item.time < end
                and data
                and data["feed"] == "checkpoint_scan"
                and data["direction"] == "in"
            ):
                inbound[self.checkpoint_index[data["checkpoint_id"]]] += 1
        self.checkpoints.start(inbound)
        if count:
            self._background(start, end, count)
        self._flush(end - 1, TAG_MARKER)
        self.checkpoints.end()
        self._drain()

    def _drain(self) -> None:
        if self._buffer:
            self.sink.write(self._buffer)
            self.bytes += len(self._buffer)
            self._buffer.clear()

    # -- the hot loop ------------------------------------------------------------------------

    def _background(self, t0: int, t1: int, n: int) -> None:
        """``n`` background scans spread over [t0, t1), merged with the tracked items.

        Deliberately one flat loop over local names: it runs for every line of the
        file and is what ``controlfeed generate`` spends its time on.
        """
        tb, buffer, gb, ms = self.tables, self._buffer, self.rng.getrandbits, _MS
        vlot, vkey, vpeople, vtails = tb.venue_lottery, tb.venue_key, tb.venue_people, tb.day_tails
        clot, ckey, cpeople, ctails = (
            tb.checkpoint_lottery,
            tb.checkpoint_key,
            tb.checkpoint_people,
            tb.checkpoint_tails,
        )
        room, bg_in, cap_in = self.venues.room, self.checkpoints.background, self.checkpoints.cap
        seq, checkpoint_scans, flushed, first = self.seq, 0, 0, self.seq
        next_t, next_sec, pre, last = self._next_time(), t0, b"", -1
        span, jitter = t1 - t0, max(1, (t1 - t0) // n)
        for i in range(n):
            # y: place, direction, tail, jitter (top 6 bits); z: checkpoint or venue, person
            y, z = gb(30), gb(30)
            t = t0 + i * span // n + ((y >> 24) * jitter >> 6)
            if t >= next_sec:
                next_sec = (t // 1000 + 1) * 1000
                pre = second_prefix(t // 1000).encode()
            if z >> 22 < CHECKPOINT_SHARE:
                if t >= next_t:
                    self.seq, self._running = seq, seq - first - flushed
                    next_t = self._flush(t, 1)
                    seq, flushed = self.seq, flushed + self.seq - seq
                c = clot[y & 63]
                if y & 64 and bg_in[c] < cap_in[c]:
                    bg_in[c] += 1
                    direction = b"in"
                else:
                    direction = b"out"
                people = cpeople[c]
                seq += 1
                checkpoint_scans += 1
                last = t
                person, tail = people[z % len(people)], ctails[(y >> 7) & 1023]
                buffer += _CP % (seq, pre, ms[t % 1000], ckey[c], direction, person, tail)
                continue
            if t >= next_t:
                self.seq, self._running = seq, seq - first - flushed
                next_t = self._flush(t, 3)
                seq, flushed = self.seq, flushed + self.seq - seq
            v = vlot[y & _LOTTERY_MASK]
            if room[v] <= 0:
                v = vlot[gb(LOTTERY_BITS)]
                if room[v] <= 0:
                    continue  # both draws full: this scan does not happen
            room[v] -= 1
            people = vpeople[v]
            seq += 1
            last = t
            person, tail = people[z % len(people)], vtails[v][(y >> 16) & 255]
            buffer += _VS % (seq, pre, ms[t % 1000], vkey[v], person, tail)
        background = seq - first - flushed  # ids this loop gave, not those of tracked items
        self.seq, self.lines, self._running = seq, self.lines + background, 0
        self.events["checkpoint_scan"] += checkpoint_scans
        self.events["venue_scan"] += background - checkpoint_scans
        self.last_event_ms = max(self.last_event_ms, last)

    # -- tracked items -----------------------------------------------------------------------

    def _next_time(self) -> int:
        pos, pending = self._pos, self._pending
        return pending[pos].time if pos < len(pending) else _NEVER

    def _flush(self, t: int, tag: int) -> int:
        """Write the tracked items that come before a background scan at (t, tag); returns
        the time of the next one."""
        pending = self._pending
        while self._pos < len(pending):
            item = pending[self._pos]
            if item.time > t or (item.time == t and item.tag > tag):
                break
            self._pos += 1
            self._write(item)
        return self._next_time()

    def _write(self, item: Tracked) -> None:
        if item.tag == TAG_MARKER:
            if item.action is not None:
                item.action(self)
            return
        self.lines += 1
        item.line = self.lines + self._running
        if item.tag == TAG_MALFORMED:
            event_id = self._next_id(item.id_feed) if item.id_feed else ""
            self._buffer += item.render(event_id) if item.render else b""
            self._buffer += b"\n"
            self.malformed.append(item)
            return
        data = item.data or {}
        feed = data["feed"]
        if feed in self.references:
            self.references[feed] += 1
        else:
            item.event_id = data["event_id"] = self._next_id(feed)
            self.events[feed] += 1
            self.last_event_ms = max(self.last_event_ms, item.time)
            self._judge(item, data)
        self._buffer += _dump(data)
        self._buffer += b"\n"
        self.written.append(item)

    def _next_id(self, feed: str) -> str:
        self.seq += 1
        return f"ev-{self.seq:010d}-{FEED_PREFIX[feed]}"

    def _judge(self, item: Tracked, data: dict[str, object]) -> None:
        """Crowding and surge at an injected scan, from the true running counts."""
        feed = data["feed"]
        if feed == "venue_scan":
            venue_id = str(data["venue_id"])
            if self.venues.on_venue_scan(self.venue_index[venue_id]):
                evidence = [item.event_id]
                alert = Expected.of("crowding", "warning", evidence, item.time, ("venue", venue_id))
                self.alerts.append(alert)
        elif feed == "checkpoint_scan" and data["direction"] == "in":
            site = str(data["checkpoint_id"])
            if self.checkpoints.on_inbound_scan(self.checkpoint_index[site]):
                evidence = [item.event_id]
                alert = Expected.of(
                    "checkpoint-surge", "warning", evidence, item.time, ("checkpoint", site)
                )
                self.alerts.append(alert)

    # -- what markers may ask (MarkerHost) ----------------------------------------------------

    def inbound(self, checkpoint: int) -> InboundView:
        """The inbound state of ``checkpoint`` in the window being written."""
        cw = self.checkpoints
        count = cw.background[checkpoint] + cw.injected[checkpoint]
        return InboundView(
            cw.updates[checkpoint], cw.mean[checkpoint], cw.var[checkpoint], count, self._window_end
        )

    def freeze_inbound(self, checkpoint: int) -> None:
        """No more background inbound scans at ``checkpoint`` in this window."""
        self.checkpoints.freeze(checkpoint)

    def schedule(self, item: Tracked) -> None:
        """Plan ``item`` (later than the marker now running) into the pending items or the plan."""
        if item.time >= self._group_end:
            self.plan.add(item)
            return
        self.plan.stamp(item)
        key = (item.time, item.tag, item.order)
        at = bisect.bisect_right(self._keys, key, lo=self._pos)
        self._keys.insert(at, key)
        self._pending.insert(at, item)
