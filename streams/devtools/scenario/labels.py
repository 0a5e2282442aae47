"""The expected alerts of a generated file, derived from its tracked records.

Background scans are healthy by construction and never tracked, so every alert
of docs/rules.md comes from the tracked records: reference records, patrol
events and injected scans, walked here in file order (which is the rules'
order). Crowding and surge depend on background counts too; the writer finds
those while writing and they are merged in. The thresholds and the places are
the rules configuration's (the defaults in brackets below). Called by
``engine`` after the last line; a wrong label is a bug in the generator, which
the oracle test (tests/unit/test_generate_labels.py) catches.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from rules import Thresholds
from streams.devtools.scenario.clock import HOUR_MS, local_day
from streams.devtools.scenario.expected import Expected
from streams.devtools.scenario.places import haversine_km
from streams.devtools.scenario.tracked import Tracked
from streams.devtools.scenario.world import World

__all__ = ["expected_alerts"]

STAGES = {"dispatched": 1, "arrived": 2, "resolved": 3}

Data = dict[str, Any]


def _ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


class _Replay:
    """The records in order with the reference state as of each, and what the rules keep."""

    def __init__(self, cutoff: int, thresholds: Thresholds, world: World) -> None:
        self.cutoff = cutoff
        self.th = thresholds
        self.coordinates = world.coordinates
        """Where each configured place is (checkpoint scans are at their checkpoint)."""
        self.key_sites = [s.site_id for s in world.key_sites]
        self.venues: dict[str, Data] = {}
        self.risk: dict[str, str] = {}
        self.alerts: list[Expected] = []
        self.failures: dict[tuple[str, int], list[str]] = defaultdict(list)
        self.previous: dict[str, tuple[Tracked, tuple[float, float] | None]] = {}
        self.scans: dict[str, list[tuple[int, int | None]]] = defaultdict(list)
        self.entries: list[tuple[Tracked, str]] = []
        self.patrols: list[Tracked] = []

    def add(
        self, rule: str, severity: str, ids: list[str], t: int, subject: tuple[str, str]
    ) -> None:
        self.alerts.append(Expected.of(rule, severity, ids, t, subject))

    def passed(self, deadline: int) -> bool:
        """docs/rules.md: a deadline fires when strictly before the last event time less
        the allowed lateness."""
        return deadline < self.cutoff

    def risky(self, travel: Data | None) -> bool:
        if travel is None:
            return False
        return bool(travel["star"]) or any(
            self.risk.get(a) in ("medium", "high") for a in travel["areas"]
        )


def _scan(replay: _Replay, item: Tracked, data: Data) -> None:
    """Per-scan rules, then what the window and person rules need from the scan."""
    person = data["person_id"]
    if data["feed"] == "checkpoint_scan":
        place = ("checkpoint", data["checkpoint_id"])
        venue: Data | None = None
        coords: tuple[float, float] | None = replay.coordinates.get(data["checkpoint_id"])
    else:
        place = ("venue", data["venue_id"])
        venue = replay.venues.get(data["venue_id"])
        coords = (venue["lat"], venue["lon"]) if venue else None
    who = ("person", person) if person is not None else place
    ids, t = [item.event_id], item.time
    risky = replay.risky(data.get("travel"))
    if risky:
        inbound = data["feed"] == "checkpoint_scan" and data["direction"] == "in"
        replay.add("risk-area-visitor", "critical" if inbound else "warning", ids, t, who)
        if inbound and person is not None:
            replay.entries.append((item, person))
    code = data["health_code"]
    if code in ("yellow", "red"):
        replay.add(
            "health-code-abnormal", "warning" if code == "yellow" else "critical", ids, t, who
        )
    elif code == "none":
        replay.add("no-code", "warning", ids, t, place)
    temperature = data.get("temperature_c")
    th = replay.th
    if temperature is not None and temperature >= th.fever_warning_c:
        hot = "critical" if temperature >= th.fever_critical_c else "warning"
        replay.add("fever", hot, ids, t, who)
    if venue is not None:
        _venue_rules(replay, item, data, venue, place)
    if person is not None:
        _person(replay, item, data, person, coords)


def _venue_rules(
    replay: _Replay, item: Tracked, data: Data, venue: Data, place: tuple[str, str]
) -> None:
    ids, t = [item.event_id], item.time
    th = replay.th
    purchase = data.get("purchase")
    medicine = purchase is not None and purchase["category"] in th.medicine_categories
    if venue["type"] == "pharmacy" and purchase is not None and medicine:
        replay.add(
            "pharmacy-fever-purchase",
            "info" if purchase["registered"] else "warning",
            ids,
            t,
            place,
        )
    if venue["status"] == "closed":
        replay.add("closed-venue-activity", "critical", ids, t, place)
    failing = (
        data.get("temperature_c") is None
        or (data["role"] == "staff" and data.get("mask") is False)
        or (purchase is not None and medicine and not purchase["registered"])
    )
    if venue["type"] in th.temperature_required_types and failing:
        day = replay.failures[(place[1], local_day(t))]
        day.append(item.event_id)
        if len(day) == th.noncompliance_min_failures:
            replay.add("venue-noncompliance", "warning", day, t, place)


def _person(
    replay: _Replay, item: Tracked, data: Data, person: str, coords: tuple[float, float] | None
) -> None:
    before = replay.previous.get(person)
    replay.previous[person] = (item, coords)
    nat = data.get("nat")
    replay.scans[person].append((item.time, _ms(nat["sampled_at"]) if nat else None))
    if before is None or before[1] is None or coords is None:
        return
    distance = haversine_km(*before[1], *coords)
    hours = (item.time - before[0].time) / HOUR_MS
    th = replay.th
    fast = hours == 0 or distance / hours > th.impossible_travel_kmh
    if distance >= th.impossible_travel_min_km and fast:
        ids = [before[0].event_id, item.event_id]
        replay.add("impossible-travel", "warning", ids, item.time, ("person", person))


def _returnees(replay: _Replay) -> None:
    within = replay.th.returnee_test_within_s * 1000
    for entry, person in replay.entries:
        start, deadline = entry.time, entry.time + within
        tested = any(
            start < t <= deadline and sampled is not None and start < sampled <= deadline
            for t, sampled in replay.scans[person]
        )
        if not tested and replay.passed(deadline):
            replay.add(
                "returnee-untested", "critical", [entry.event_id], deadline, ("person", person)
            )


def _incidents(replay: _Replay) -> None:
    reports: dict[str, Tracked] = {}
    stages: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for item in replay.patrols:
        data = item.data or {}
        if data["kind"] == "incident_reported":
            reports.setdefault(data["incident_id"], item)
            if data["incident_type"] in replay.th.police_incident_types:
                subject = ("incident", data["incident_id"])
                replay.add("police-incident", "warning", [item.event_id], item.time, subject)
        elif data["kind"] in STAGES:
            stages[data["incident_id"]].append((STAGES[data["kind"]], item.time))
    th = replay.th
    limits = ((1, th.dispatch_s * 1000), (2, th.arrive_s * 1000), (3, th.resolve_s * 1000))
    for incident, report in reports.items():
        for stage, limit in limits:
            deadline = report.time + limit
            if any(s >= stage and t <= deadline for s, t in stages[incident]):
                continue
            if replay.passed(deadline):
                subject = ("incident", incident)
                replay.add("response-sla-breach", "critical", [report.event_id], deadline, subject)
            break


def _patrol_gaps(replay: _Replay) -> None:
    if not replay.patrols:
        return
    first = replay.patrols[0].time
    gap = replay.th.patrol_gap_s * 1000
    for site in replay.key_sites:
        checkins = [
            p
            for p in replay.patrols
            if p.data and p.data["kind"] == "checkin" and p.data.get("site_id") == site
        ]
        clock, evidence = first, list[str]()
        for checkin in [*checkins, None]:
            deadline = clock + gap
            if (checkin is None or checkin.time > deadline) and replay.passed(deadline):
                replay.add("patrol-gap", "warning", evidence, deadline, ("site", site))
            if checkin is not None:
                clock, evidence = checkin.time, [checkin.event_id]


def _inspections(replay: _Replay) -> None:
    within = replay.th.reinspection_within_s * 1000
    done: dict[str, list[int]] = defaultdict(list)
    inspections = [p for p in replay.patrols if p.data and p.data["kind"] == "inspection"]
    for item in inspections:
        done[item.data["inspection"]["target_id"] if item.data else ""].append(item.time)
    for item in inspections:
        target = item.data["inspection"]["target_id"] if item.data else ""
        if item.data and item.data["inspection"]["passed"] is False:
            replay.add(
                "inspection-failed", "warning", [item.event_id], item.time, ("venue", target)
            )
            deadline = item.time + within
            if replay.passed(deadline) and not any(item.time < t <= deadline for t in done[target]):
                replay.add(
                    "inspection-failed", "critical", [item.event_id], deadline, ("venue", target)
                )


def expected_alerts(
    written: list[Tracked],
    window_alerts: list[Expected],
    last_event_ms: int,
    thresholds: Thresholds,
    world: World,
) -> list[Expected]:
    """Every alert docs/rules.md raises on the file with ``thresholds`` at the places of
    ``world``, sorted by (time, rule, severity, evidence)."""
    cutoff = last_event_ms - thresholds.allowed_lateness_s * 1000
    replay = _Replay(cutoff, thresholds, world)
    for item in written:
        data = item.data or {}
        feed = data["feed"]
        if feed == "venue":
            replay.venues[data["venue_id"]] = data
        elif feed == "risk_area":
            replay.risk[data["area_code"]] = data["level"]
        elif feed == "patrol_event":
            replay.patrols.append(item)
        else:
            _scan(replay, item, data)
    _returnees(replay)
    _incidents(replay)
    _patrol_gaps(replay)
    _inspections(replay)
    return sorted([*replay.alerts, *window_alerts])
