"""Person rules: `impossible-travel` (sequence) and `returnee-untested` (deadline).

Both ignore scans whose `person_id` is null, and late events.

Choice (`impossible-travel`): the previous scan is the person's previous on-time scan, whatever
its place; when either place has no coordinates (unknown checkpoint, unregistered venue) that
pair is not checked, and the pair before it is not looked at instead. Each scan's coordinates
are taken as of its own time.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from datetime import datetime, timedelta

from tests.oracle.model import Alert, Thresholds, make_alert
from tests.oracle.stream import Record, Stream
from tests.oracle.world import haversine_km, parse_time


def is_impossible(previous: Record, current: Record, th: Thresholds) -> bool:
    if previous.coords is None or current.coords is None:
        return False
    distance_km = haversine_km(previous.coords, current.coords)
    if distance_km < th.impossible_travel_min_km:
        return False
    seconds = (current.time - previous.time) / timedelta(seconds=1)
    if seconds == 0:
        return True  # zero time: any distance of at least the minimum
    return distance_km / (seconds / 3600.0) > th.impossible_travel_kmh


def impossible_travel(stream: Stream, th: Thresholds) -> list[Alert]:
    previous_scan: dict[str, Record] = {}
    alerts: list[Alert] = []
    for scan in stream.on_time("checkpoint_scan", "venue_scan"):
        person = scan.person_id
        if person is None:
            continue
        previous = previous_scan.get(person)
        previous_scan[person] = scan
        if previous is not None and is_impossible(previous, scan, th):
            alerts.append(
                make_alert(
                    "impossible-travel",
                    "warning",
                    [previous.event_id, scan.event_id],
                    scan.time,
                    "person",
                    person,
                )
            )
    return alerts


def returnee_untested(stream: Stream, th: Thresholds) -> list[Alert]:
    """An entry at T is cleared by a scan of the person with event_time in (T, T+24h] whose
    `nat.sampled_at` is in (T, T+24h]; any scan feed counts (checkpoint or venue)."""
    within = timedelta(seconds=th.returnee_test_within_s)
    scans = [s for s in stream.on_time("checkpoint_scan", "venue_scan") if s.person_id]
    # Per person, in order: the scan times and their `nat.sampled_at` (None without one).
    times: dict[str, list[datetime]] = defaultdict(list)
    samples: dict[str, list[datetime | None]] = defaultdict(list)
    for scan in scans:
        nat = scan.data.get("nat")
        sampled = nat.get("sampled_at") if nat else None
        times[scan.person_id or ""].append(scan.time)
        samples[scan.person_id or ""].append(parse_time(sampled) if sampled else None)

    alerts: list[Alert] = []
    for entry in scans:
        if not (
            entry.feed == "checkpoint_scan"
            and entry.data["direction"] == "in"
            and entry.risky_travel
        ):
            continue
        person = entry.person_id or ""
        start, deadline = entry.time, entry.time + within
        if not stream.deadline_passed(deadline):
            continue
        first = bisect.bisect_right(times[person], start)
        last = bisect.bisect_right(times[person], deadline)
        tested = any(
            sampled is not None and start < sampled <= deadline
            for sampled in samples[person][first:last]
        )
        if not tested:
            alerts.append(
                make_alert(
                    "returnee-untested", "critical", [entry.event_id], deadline, "person", person
                )
            )
    return alerts
