"""How long to wait before sending the next record: by event time, by rate, or not at all.

Called by the replay loop once per record; the loop does the waiting (while
serving delivery reports), so these classes only compute and can be tested
with a fake clock. Targets are absolute (start + offset), never "sleep a bit
after each record": a late wake-up or a slow send is caught up by the next
records instead of piling up, and waits shorter than ``MIN_WAIT`` are skipped
for the same reason.

``SpeedPacer``: wall-clock progress = event-time progress / speed, measured
from the first record that has a readable ``event_time``. A record without one
(malformed, no offset) and a record older than one already sent (out of
order) go at once. ``RatePacer``: the n-th record at start + n / rate.

Loops: the files are sent again unchanged (``runner``); for pacing, each new
loop's event times count as shifted to follow the previous loop's latest
event, so ``--speed`` paces every loop alike instead of rushing the second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["MIN_WAIT", "Clock", "Pacer", "RatePacer", "SpeedPacer"]

MIN_WAIT = 0.001
"""Waits shorter than this (seconds) are not worth a system call; the next target catches up."""

Clock = Callable[[], float]
"""A monotonic clock in seconds; ``time.monotonic`` in real use, a fake in tests."""


class Pacer(Protocol):
    """What the replay loop asks before each record."""

    needs_event_time: bool
    """True when ``delay`` uses the record's event time (so the loop extracts it)."""

    def delay(self, event_time: float | None) -> float:
        """Seconds to wait before sending the record whose event time is given (POSIX s)."""
        ...

    def next_loop(self) -> None:
        """Called between two passes over the files (``--loop``)."""
        ...


class SpeedPacer:
    """Event time replayed ``speed`` times faster than it happened (1 = real time)."""

    needs_event_time = True

    def __init__(self, speed: float, clock: Clock = time.monotonic) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self._clock = clock
        self._origin: float | None = None  # event time of the first timed record
        self._start = 0.0  # wall-clock time it was sent
        self._latest = 0.0  # latest shifted event time seen
        self._shift = 0.0  # added to event times in the current loop

    def delay(self, event_time: float | None) -> float:
        """Seconds until ``event_time`` is due; 0 for the first timed record and untimed ones."""
        if event_time is None:
            return 0.0
        shifted = event_time + self._shift
        if self._origin is None:
            self._origin, self._start, self._latest = shifted, self._clock(), shifted
            return 0.0
        self._latest = max(self._latest, shifted)
        due = self._start + (shifted - self._origin) / self.speed
        wait = due - self._clock()
        return wait if wait >= MIN_WAIT else 0.0

    def next_loop(self) -> None:
        """Shift the next loop so its first event follows this loop's latest one."""
        if self._origin is not None:
            self._shift = self._latest - self._origin


class RatePacer:
    """A steady ``rate`` records per second, whatever the event times."""

    needs_event_time = False

    def __init__(self, rate: float, clock: Clock = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self._clock = clock
        self._start: float | None = None
        self._sent = 0

    def delay(self, event_time: float | None) -> float:
        """Seconds until the next record is due (the first goes at once)."""
        now = self._clock()
        if self._start is None:
            self._start = now
        due = self._start + self._sent / self.rate
        self._sent += 1
        wait = due - now
        return wait if wait >= MIN_WAIT else 0.0

    def next_loop(self) -> None:
        """Nothing: the rate runs on across loops."""
