"""rules.routing: which families get a copy of each event, and a stable partition hash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rules import default_config, is_broadcast, partition_for, route
from schemas.identity import pseudonym
from tests.oracle.builders import (
    PERSON,
    checkin,
    checkpoint_scan,
    incident,
    inspection,
    risk_area,
    stage,
    venue,
    venue_scan,
)
from tests.unit.rules_support import KEY, clean

SITES = [("site", s) for s in default_config().key_sites]


def test_a_checkpoint_scan_goes_to_its_checkpoint_and_its_person() -> None:
    copies = route(clean(checkpoint_scan("c1", 0, checkpoint_id="caoba-toll")))

    assert copies == [("checkpoint", "caoba-toll"), ("person", pseudonym(PERSON, KEY))]


def test_a_venue_scan_without_a_person_goes_to_its_venue_only() -> None:
    assert route(clean(venue_scan("v1", 0, venue_id="v-9", person_id=None))) == [("venue", "v-9")]


def test_every_patrol_event_goes_to_every_key_site() -> None:
    assert route(clean(checkin("k1", 0, site_id="bus-station"))) == SITES


def test_incident_events_go_to_their_incident_too() -> None:
    assert route(clean(incident("r1", 0)))[-1] == ("incident", "inc-1")
    assert route(clean(stage("d1", 0, "resolved", incident_id="inc-7")))[-1] == (
        "incident",
        "inc-7",
    )


def test_inspections_go_to_the_inspected_venue_too() -> None:
    assert route(clean(inspection("i1", 0, target_id="v-3"))) == [*SITES, ("inspection", "v-3")]


def test_reference_records_are_broadcast_not_routed() -> None:
    for record in (clean(venue(0)), clean(risk_area(0))):
        assert route(record) == [] and is_broadcast(record)
    assert not is_broadcast(clean(checkin("k1", 0)))


def test_partitions_are_fixed_numbers_in_range() -> None:
    assert partition_for("venue", "v-1", 12) == 6
    assert partition_for("site", "bus-station", 7) == 3
    assert all(0 <= partition_for("person", str(n), 5) < 5 for n in range(200))


def test_partitions_agree_across_processes_with_different_hash_seeds() -> None:
    code = "from rules import partition_for; print(partition_for('person', 'x' * 64, 1000))"
    root = Path(__file__).resolve().parents[2]
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)},
        ).stdout
        for seed in ("1", "2")
    }

    assert len(outputs) == 1
    assert int(outputs.pop()) == partition_for("person", "x" * 64, 1000)
