"""Window rules: `venue-noncompliance` (local day), `crowding` (15 min), `checkpoint-surge` (5 min).

Late events are not seen here.

Choice (`crowding`): the count is of every venue scan in the window (any role, any health code,
scans at unregistered venues too); the alert fires at the first scan (by order) after which
count > capacity at that scan's time. A venue without a record at that time has no capacity and
cannot fire at that scan, but its earlier scans still count.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from tests.oracle.model import MEDICINE_CATEGORIES, Alert, Thresholds, make_alert
from tests.oracle.stream import Record, Stream
from tests.oracle.world import local_day, window_index


def is_failing_scan(scan: Record, th: Thresholds) -> bool:
    """docs/rules.md "Failing scan"; a `mask` of null is not observed, so not a failure."""
    if scan.venue is None or scan.venue.type not in th.temperature_required_types:
        return False
    data = scan.data
    if data.get("temperature_c") is None:
        return True
    if data["role"] == "staff" and data.get("mask") is False:
        return True
    purchase = data.get("purchase")
    return (
        purchase is not None
        and purchase["category"] in MEDICINE_CATEGORIES
        and not purchase["registered"]
    )


def venue_noncompliance(stream: Stream, th: Thresholds) -> list[Alert]:
    failures: dict[tuple[str, object], list[str]] = defaultdict(list)
    alerts: list[Alert] = []
    for scan in stream.on_time("venue_scan"):
        if not is_failing_scan(scan, th):
            continue
        day_failures = failures[(scan.place_id, local_day(scan.time))]
        day_failures.append(scan.event_id)
        if len(day_failures) == th.noncompliance_min_failures:  # exactly once per venue and day
            alerts.append(
                make_alert(
                    "venue-noncompliance",
                    "warning",
                    day_failures,
                    scan.time,
                    "venue",
                    scan.place_id,
                )
            )
    return alerts


def crowding(stream: Stream, th: Thresholds) -> list[Alert]:
    counts: dict[tuple[str, int], int] = defaultdict(int)
    fired: set[tuple[str, int]] = set()
    alerts: list[Alert] = []
    for scan in stream.on_time("venue_scan"):
        key = (scan.place_id, window_index(scan.time, th.crowding_window_s))
        counts[key] += 1
        if key in fired or scan.venue is None:
            continue
        if counts[key] > scan.venue.capacity:
            fired.add(key)
            alerts.append(
                make_alert(
                    "crowding", "warning", [scan.event_id], scan.time, "venue", scan.place_id
                )
            )
    return alerts


@dataclass
class SurgeBaseline:
    """One checkpoint's EWMA baseline and the window being counted, exactly as in rules.md."""

    window: int  # the window being counted now
    count: int = 0
    fired: bool = False
    mean: float = 0.0
    var: float = 0.0
    updates: int = 0  # windows that have updated the baseline

    def update(self, c: int, alpha: float) -> None:
        if self.updates == 0:
            self.mean, self.var = float(c), 0.0
        else:
            d = c - self.mean
            self.mean += alpha * d
            self.var = (1 - alpha) * (self.var + alpha * d * d)
        self.updates += 1

    def advance_to(self, window: int, alpha: float) -> None:
        """Close the current window and every empty one (count 0) before `window`."""
        while self.window < window:
            self.update(self.count, alpha)
            self.window += 1
            self.count, self.fired = 0, False


def checkpoint_surge(stream: Stream, th: Thresholds) -> list[Alert]:
    baselines: dict[str, SurgeBaseline] = {}
    alerts: list[Alert] = []
    for scan in stream.on_time("checkpoint_scan"):
        if scan.data["direction"] != "in":
            continue
        window = window_index(scan.time, th.surge_window_s)
        baseline = baselines.setdefault(scan.place_id, SurgeBaseline(window=window))
        baseline.advance_to(window, th.surge_alpha)
        baseline.count += 1
        # Windows 0..11 (counting from the first `in` scan's window) only warm up; 12 is judged.
        if baseline.fired or baseline.updates < th.surge_warmup_windows:
            continue
        excess = baseline.count - baseline.mean
        if excess > th.surge_sigmas * math.sqrt(baseline.var) and excess >= th.surge_min_excess:
            baseline.fired = True
            alerts.append(
                make_alert(
                    "checkpoint-surge",
                    "warning",
                    [scan.event_id],
                    scan.time,
                    "checkpoint",
                    scan.place_id,
                )
            )
    return alerts
