"""The engine's machinery: per-source watermarks, idleness, order, lateness, duplicates,
reference history, draining, snapshots."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rules import Engine, SnapshotError
from schemas.clean import Envelope, EventRecord, Idle, ReferenceRecord, Watermark
from schemas.feeds import RiskArea, Venue
from tests.oracle.builders import (
    HOUR,
    MINUTE,
    checkpoint_scan,
    clock,
    incident,
    time_of,
    venue,
    venue_scan,
)
from tests.unit.rules_support import clean, envelopes_for, in_order_envelopes

A, B = "feeds.a/0", "feeds.b/0"


def record(source: str, data: dict[str, Any]) -> list[Envelope]:
    """A record's envelopes from ``source``, then the source's marker at its time."""
    event = clean(data)
    return [*envelopes_for(event, source), Watermark(source, event.event_time)]


def feed(engine: Engine, *batches: list[Envelope]) -> list[str]:
    """Feed envelopes; the rules of the alerts raised."""
    return [a.rule for batch in batches for a in engine.feed_all(batch)]


def test_the_watermark_is_the_slowest_source_less_the_lateness() -> None:
    engine = Engine(sources=[A, B])
    feed(engine, record(A, clock("a1", HOUR)), record(B, clock("b1", 30 * MINUTE)))

    assert engine.watermark == time_of(20 * MINUTE)


def test_an_idle_source_stops_holding_and_a_marker_wakes_it() -> None:
    engine = Engine(sources=[A, B])
    feed(engine, record(A, clock("a1", HOUR)), record(B, clock("b1", 30 * MINUTE)))

    feed(engine, [Idle(B)])
    assert engine.watermark == time_of(50 * MINUTE)
    feed(engine, [Watermark(B, time_of(40 * MINUTE))])
    assert engine.watermark == time_of(50 * MINUTE)  # never back


def test_a_declared_source_holds_the_watermark_until_it_reports() -> None:
    engine = Engine(sources=[A, B])
    feed(engine, record(A, clock("a1", HOUR)))

    assert engine.watermark is None
    feed(engine, [Watermark(B, time_of(HOUR))])
    assert engine.watermark == time_of(50 * MINUTE)


def test_reference_rules_wait_until_the_watermark_passes_the_event() -> None:
    engine = Engine()
    assert feed(engine, record(A, venue_scan("s1", 0, travel={"star": True, "areas": []}))) == []

    assert feed(engine, record(A, clock("c1", 10 * MINUTE + 1))) == ["risk-area-visitor"]


def test_immediate_rules_fire_on_arrival_without_waiting_for_the_watermark() -> None:
    engine = Engine()
    rules = feed(engine, record(A, venue_scan("s1", 0, temperature_c=39.0, health_code="red")))

    assert sorted(rules) == ["fever", "health-code-abnormal"]
    assert engine.buffered == 2  # its venue and person copies still wait for the watermark
    assert feed(engine, record(A, clock("c1", 10 * MINUTE + 1))) == []  # not judged twice


def test_a_late_event_still_gets_its_immediate_rules() -> None:
    engine = Engine()
    feed(engine, record(A, clock("c1", HOUR)))

    assert feed(engine, record(A, venue_scan("s0", 0, temperature_c=39.0))) == ["fever"]
    assert engine.stats.late == 2  # its venue and person copies


def test_arrival_order_within_the_lateness_does_not_change_the_sequence() -> None:
    scans = [
        checkpoint_scan("p1", 0, checkpoint_id="jinjiguan-toll"),
        checkpoint_scan("p2", 100, checkpoint_id="caoba-toll"),
    ]
    in_time = Engine().feed_all(in_order_envelopes(scans))
    reversed_ = Engine().feed_all(in_order_envelopes(scans[::-1]))

    assert [a.evidence for a in reversed_] == [a.evidence for a in in_time] == [("p1", "p2")]


def test_a_late_event_only_passes_the_per_event_rules_and_is_counted() -> None:
    engine = Engine()
    feed(engine, record(A, clock("c1", HOUR)))

    rules = feed(engine, record(A, incident("r1", 0)), record(A, clock("c2", 2 * HOUR)))

    assert rules == ["police-incident"]  # no response-sla-breach for a late report
    assert engine.stats.late == 7  # one per copy: six key sites and the incident


def test_an_event_exactly_at_the_watermark_is_on_time() -> None:
    engine = Engine()
    feed(engine, record(A, clock("c1", HOUR)))

    feed(engine, record(A, incident("r1", 50 * MINUTE)), record(A, clock("c2", 2 * HOUR)))

    assert engine.stats.late == 0


def test_an_exact_duplicate_is_dropped_but_each_family_copy_counts_once() -> None:
    engine = Engine()
    scan = venue_scan("s1", 0, temperature_c=39.0)

    rules = feed(engine, record(A, scan), record(B, scan), record(A, clock("c", HOUR)), [Idle(B)])

    assert rules == ["fever"]
    assert (engine.stats.duplicates, engine.stats.processed) == (2, 2)  # venue and person


def test_event_ids_are_forgotten_behind_the_dedupe_horizon() -> None:
    engine = Engine()
    feed(engine, record(A, venue_scan("s1", 0)), record(A, clock("c1", 30 * MINUTE)))
    assert len(engine.snapshot()["seen"]) == 3

    feed(engine, record(A, clock("c2", 2 * HOUR)))
    assert len(engine.snapshot()["seen"]) == 1


def test_when_every_source_is_idle_the_buffer_is_drained() -> None:
    engine = Engine()
    feed(engine, record(A, venue_scan("s1", 0, travel={"star": True, "areas": []})))

    assert feed(engine, [Idle(A)]) == ["risk-area-visitor"]
    assert engine.watermark == time_of(-10 * MINUTE)


def test_after_a_drain_an_event_sorting_before_the_last_processed_is_late() -> None:
    engine = Engine()
    feed(engine, record(A, clock("c1", 100)), [Idle(A)])

    feed(engine, record(A, clock("c0", 50)))

    assert engine.stats.late == 1


def test_a_reference_record_arriving_after_a_buffered_scan_still_applies_at_its_time() -> None:
    engine = Engine()
    rules = feed(
        engine,
        record(A, venue_scan("s1", 20)),
        record("ref.venues/0", venue(10, status="closed")),
        [Idle("ref.venues/0")],
        record(A, clock("c1", HOUR)),
    )

    assert rules == ["closed-venue-activity"]
    assert engine.stats.late_references == 0


def test_reference_sources_do_not_set_the_all_idle_watermark() -> None:
    future = clean(venue(30 * HOUR))
    assert isinstance(future, Venue)
    engine = Engine()
    feed(engine, record(A, clock("c1", 0)), [ReferenceRecord("ref/0", future)])
    feed(engine, [Watermark("ref/0", future.event_time), Idle("ref/0"), Idle(A)])

    assert engine.watermark == time_of(-10 * MINUTE)


def test_a_reference_source_holds_the_watermark_back() -> None:
    engine = Engine(sources=["ref/0", A])
    feed(engine, record("ref/0", venue(30 * MINUTE)), record(A, clock("c1", HOUR)))

    assert engine.watermark == time_of(20 * MINUTE)


def test_a_reference_source_never_moves_the_watermark_past_the_events() -> None:
    engine = Engine()
    feed(engine, record("ref/0", venue(20 * HOUR)), record(A, clock("c1", HOUR)))

    feed(engine, [Idle(A)])

    assert engine.watermark == time_of(50 * MINUTE)


def test_a_restored_engine_has_the_same_state_and_continues_alike() -> None:
    first = record(A, venue_scan("s1", 0, travel={"star": True, "areas": []}))
    rest = record(A, clock("c", HOUR))
    engine = Engine()
    feed(engine, first)

    restored = Engine.restore(json.loads(json.dumps(engine.snapshot())))

    assert restored.snapshot() == engine.snapshot()
    assert feed(restored, rest) == feed(engine, rest) == ["risk-area-visitor"]


def test_a_snapshot_of_another_version_is_refused() -> None:
    data = Engine().snapshot() | {"version": 0}

    with pytest.raises(SnapshotError, match="version"):
        Engine.restore(data)


def test_a_damaged_snapshot_is_refused() -> None:
    data = Engine().snapshot()
    del data["buffer"]

    with pytest.raises(SnapshotError, match="damaged"):
        Engine.restore(data)


def test_risk_area_records_are_broadcast_envelopes() -> None:
    area = clean(
        {
            "feed": "risk_area",
            "area_code": "510107",
            "name": "x",
            "level": "high",
            "event_time": time_of(0).isoformat(),
        }
    )
    assert isinstance(area, RiskArea)
    (envelope,) = envelopes_for(area, "ref/0")

    assert isinstance(envelope, ReferenceRecord) and not isinstance(envelope, EventRecord)
