"""Live counts per venue (crowding windows) and per checkpoint (surge windows).

The writer keeps background scans below what fires ``crowding`` and
``checkpoint-surge``: ``VenueWindows.room`` is how many more background scans a
venue may take in the current window (its capacity less the injected scans of
the window; zero where an injected crowd is planned), ``CheckpointWindows.cap``
how many background inbound scans a checkpoint may take before, counted with
the injected ones, its window would fire. Injected scans are judged exactly as
docs/rules.md says, from the true running counts and the rules' thresholds
(``surge_alpha``, ``surge_sigmas``, ...), by ``on_venue_scan`` and
``on_inbound_scan``.
"""

from __future__ import annotations

from rules import Thresholds
from streams.devtools.scenario.anomalies_window import surge_fires, surge_target

__all__ = ["NO_CAP", "CheckpointWindows", "VenueWindows"]

NO_CAP = 1 << 60


class VenueWindows:
    """Scan counts per venue in the current crowding window (``crowding_window_s``)."""

    def __init__(self, capacity: list[int]) -> None:
        self.capacity = capacity
        self.room = list(capacity)
        self._room_at_start: dict[int, int] = {}
        self._injected: dict[int, int] = {}
        self._fired: set[int] = set()

    def start(self, injected: dict[int, int], blocked: set[int]) -> None:
        """A new window: ``injected`` scans per venue are coming; ``blocked`` venues get
        no background scans."""
        self.room = list(self.capacity)
        for venue, count in injected.items():
            self.room[venue] -= count
        for venue in blocked:
            self.room[venue] = 0
        self._room_at_start = {v: self.room[v] for v in (*injected, *blocked)}
        self._injected = {}
        self._fired = set()

    def on_venue_scan(self, venue: int) -> bool:
        """Count an injected scan at ``venue``; True when it is the one that exceeds capacity."""
        injected = self._injected[venue] = self._injected.get(venue, 0) + 1
        background = self._room_at_start[venue] - self.room[venue]
        if venue in self._fired or background + injected <= self.capacity[venue]:
            return False
        self._fired.add(venue)
        return True


class CheckpointWindows:
    """Inbound counts per checkpoint in the current surge window, and the EWMA baselines."""

    def __init__(self, checkpoints: int, thresholds: Thresholds) -> None:
        """``checkpoints``: how many (indices as ``World.checkpoints``)."""
        self.thresholds = thresholds
        size = checkpoints
        self.background = [0] * size
        self.cap = [NO_CAP] * size
        self.injected = [0] * size
        self.fired = [False] * size
        self.started = [False] * size
        self.updates = [0] * size
        self.mean = [0.0] * size
        self.var = [0.0] * size

    def start(self, injected_inbound: list[int]) -> None:
        """A new window; ``injected_inbound`` scans per checkpoint are planned in it."""
        for k in range(len(self.cap)):
            self.background[k] = self.injected[k] = 0
            self.fired[k] = False
            self.cap[k] = NO_CAP
            if self.updates[k] >= self.thresholds.surge_warmup_windows:
                most = surge_target(self.thresholds, self.mean[k], self.var[k], -1) - 1
                self.cap[k] = most - injected_inbound[k]

    def end(self) -> None:
        """Close the window: every started checkpoint's baseline takes its count."""
        alpha = self.thresholds.surge_alpha
        for k in range(len(self.cap)):
            count = self.background[k] + self.injected[k]
            if not self.started[k] and count == 0:
                continue
            if not self.started[k]:
                self.started[k], self.mean[k], self.var[k] = True, float(count), 0.0
            else:
                d = count - self.mean[k]
                self.mean[k] += alpha * d
                self.var[k] = (1 - alpha) * (self.var[k] + alpha * d * d)
            self.updates[k] += 1

    def on_inbound_scan(self, k: int) -> bool:
        """Count an injected inbound scan; True when it is the window's crossing scan."""
        self.injected[k] += 1
        if self.fired[k] or self.updates[k] < self.thresholds.surge_warmup_windows:
            return False
        count = self.background[k] + self.injected[k]
        if surge_fires(self.thresholds, count, self.mean[k], self.var[k]):
            self.fired[k] = True
            return True
        return False

    def freeze(self, k: int) -> None:
        """No more background inbound scans at ``k`` in this window."""
        self.cap[k] = self.background[k]
