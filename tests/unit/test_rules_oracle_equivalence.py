"""The engine gives the oracle's alerts: on edge cases, and on random disorder with late
events and duplicates (one source, markers after every record: the oracle's arrival model).

Equality is checked on (rule, severity, evidence, event time, subject), the subject's
person as its pseudonym; and no alert may be raised twice.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.oracle.builders import (
    DAY,
    HOUR,
    MINUTE,
    checkin,
    checkpoint_scan,
    clock,
    incident,
    inspection,
    nat,
    person,
    purchase,
    risk_area,
    stage,
    travel,
    venue,
    venue_scan,
)
from tests.oracle.stream import prepare
from tests.unit.rules_support import assert_matches_oracle

Record = dict[str, Any]

EDGE_CASES: dict[str, list[Record]] = {
    "fever boundaries": [
        checkpoint_scan("e1", 0, temperature_c=37.2),
        checkpoint_scan("e2", 1, temperature_c=37.3),
        checkpoint_scan("e3", 2, temperature_c=38.5, person_id=None),
    ],
    "risk listed and cleared at the scan's instant": [
        risk_area(10, "510107", "high"),
        checkpoint_scan("e1", 10, travel=travel("510107")),
        risk_area(20, "510107", "low"),
        venue_scan("e2", 20, travel=travel("510107")),
        venue_scan("e3", 21, travel=travel(star=True), person_id=None),
    ],
    "venue closed at the scan's instant, then reopened": [
        venue(0, status="closed"),
        venue_scan("e1", 0, purchase=purchase("fever", False)),
        venue(5, status="open"),
        venue_scan("e2", 5),
    ],
    "noncompliance over local midnight": [
        venue(0),
        *(venue_scan(f"f{i}", 16 * HOUR - 2 + i, temperature_c=None) for i in range(5)),
    ],
    "crowding at a window edge and a capacity change": [
        venue(0, capacity=2),
        *(venue_scan(f"s{i}", 15 * MINUTE - 2 + i, person_id=None) for i in range(5)),
        venue(15 * MINUTE + 10, capacity=1),
        venue_scan("s9", 15 * MINUTE + 11, person_id=None),
    ],
    "impossible travel at the speed boundary": [
        checkpoint_scan("p1", 0, checkpoint_id="jinjiguan-toll"),
        checkpoint_scan("p2", 211, checkpoint_id="fengming-toll"),
        checkpoint_scan("p3", 423, checkpoint_id="jinjiguan-toll"),
    ],
    "returnee cleared at 24 h exactly, another not": [
        checkpoint_scan("in1", 0, travel=travel(star=True)),
        checkpoint_scan("in2", 0, travel=travel(star=True), person_id=person(2)),
        venue_scan("t1", DAY, nat=nat(1)),
        venue_scan("t2", DAY + 1, nat=nat(1), person_id=person(2)),
        clock("end", 2 * DAY),
    ],
    "sla stages around their deadlines": [
        incident("r1", 0, "inc-1"),
        stage("d1", 60, "dispatched", "inc-1"),
        stage("a1", 181, "arrived", "inc-1"),
        incident("r2", 10, "inc-2", "gathering"),
        stage("z2", 5, "resolved", "inc-2"),
        incident("r3", 20, "inc-3"),
        clock("end", HOUR),
    ],
    "patrol gaps with and without check-ins": [
        incident("r0", 0, "inc-0", "other"),
        checkin("k1", 10),
        checkin("k2", 10 + 2 * HOUR),
        checkin("k3", 20 + 4 * HOUR + 1, "bus-station"),
        clock("end", 8 * HOUR),
    ],
    "inspections and their escalation": [
        inspection("i1", 0),
        inspection("i2", DAY, passed=True),
        inspection("i3", 10, "v-2"),
        inspection("i4", 20, "v-3"),
        inspection("i5", DAY + 21, "v-3"),
        clock("end", 3 * DAY),
    ],
    "surge after warm-up with empty windows": [
        *(checkpoint_scan(f"w{w:02d}", w * 300, person_id=None) for w in range(11)),
        *(checkpoint_scan(f"x{i:03d}", 12 * 300 + i, person_id=None) for i in range(25)),
    ],
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases_match_the_oracle(name: str) -> None:
    assert_matches_oracle(EDGE_CASES[name])


def _scan(rng: random.Random, n: int, at: float) -> Record:
    who = rng.choice([person(k) for k in range(1, 6)] + [None])
    fields: dict[str, Any] = {
        "person_id": who,
        "health_code": rng.choice(["green"] * 8 + ["yellow", "none"]),
    }
    if rng.random() < 0.3:
        fields["nat"] = nat(at - rng.randrange(0, 2 * DAY))
    if rng.random() < 0.5:
        fields["travel"] = travel(rng.choice(["510107", "440106"]), star=rng.random() < 0.05)
    if rng.random() < 0.5:
        checkpoint = rng.choice(["jinjiguan-toll", "caoba-toll", "fengming-toll"])
        temperature = rng.choice([36.5, 36.6, 37.3, 38.6])
        return checkpoint_scan(
            f"c{n:04d}",
            at,
            checkpoint_id=checkpoint,
            temperature_c=temperature,
            direction=rng.choice(["in", "out"]),
            **fields,
        )
    if rng.random() < 0.2:
        fields["purchase"] = purchase("fever", rng.random() < 0.5)
    return venue_scan(
        f"v{n:04d}",
        at,
        venue_id=rng.choice(["v-1", "v-2", "v-3", "v-x"]),
        temperature_c=rng.choice([36.5, None, 37.4]),
        role=rng.choice(["visitor", "staff"]),
        mask=rng.choice([True, False, None]),
        **fields,
    )


def _patrol(rng: random.Random, n: int, at: float) -> Record:
    kind = rng.randrange(4)
    incident_id = f"inc-{rng.randrange(8)}"
    if kind == 0:
        return checkin(f"k{n:04d}", at, rng.choice(["jinjiguan-toll", "bus-station", "depot"]))
    if kind == 1:
        return incident(f"r{n:04d}", at, incident_id, rng.choice(["rumor", "dispute"]))
    if kind == 2:
        kinds = ["dispatched", "arrived", "resolved"]
        return stage(f"s{n:04d}", at, rng.choice(kinds), incident_id)
    return inspection(f"i{n:04d}", at, rng.choice(["v-1", "v-2"]), passed=rng.random() < 0.5)


def disordered(seed: int) -> list[Record]:
    """About 600 records over 30 hours, arriving up to 15 minutes late, some twice."""
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    references = [
        venue(0, "v-1", capacity=3),
        venue(0, "v-2", type="hotel", capacity=2, lat=30.06),
        venue(0, "v-3", type="mahjong"),
        risk_area(0, "510107", "high"),
        venue(12 * HOUR, "v-3", type="mahjong", status="closed"),
        risk_area(20 * HOUR, "510107", "low"),
    ]
    events: list[tuple[float, Record]] = []
    for n in range(600):
        at = rng.uniform(0, 30 * HOUR) if n % 4 else rng.uniform(0, 2 * HOUR)
        make = _patrol if rng.random() < 0.25 else _scan
        event = make(rng, n, round(at))
        arrival = at + (rng.uniform(0, 15 * MINUTE) if rng.random() < 0.3 else 0)
        events.append((arrival, event))
        if rng.random() < 0.05:
            events.append((arrival + rng.uniform(0, 10 * MINUTE), event))
    events.sort(key=lambda pair: pair[0])
    return references + [event for _, event in events]


@pytest.mark.parametrize("seed", range(6))
def test_random_disorder_late_events_and_duplicates_match_the_oracle(seed: int) -> None:
    records = disordered(seed)

    alerts = assert_matches_oracle(records)

    assert len({a.rule for a in alerts}) >= 10
    assert sum(r.late for r in prepare(records, 600).records) >= 5  # the test has late events
