"""The oracle's common ground: order, duplicates, reference state, lateness, deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.oracle import Alert, Thresholds, run_rules
from tests.oracle.builders import (
    DAY,
    checkpoint_scan,
    clock,
    incident,
    keys_of,
    of_rule,
    person,
    risk_area,
    stage,
    time_of,
    travel,
    venue,
    venue_scan,
)
from tests.oracle.world import haversine_km, local_day, window_index


def test_alert_key_is_rule_severity_and_evidence() -> None:
    alert = Alert("fever", "warning", ("a", "b"), time_of(0), "person", person())

    assert alert.key == ("fever", "warning", ("a", "b"))


def test_thresholds_defaults_follow_the_rules_page() -> None:
    th = Thresholds()

    assert (th.fever_warning_c, th.fever_critical_c, th.surge_warmup_windows) == (37.3, 38.5, 12)
    assert (th.dispatch_s, th.arrive_s, th.resolve_s, th.allowed_lateness_s) == (60, 180, 300, 600)
    assert "pharmacy" in th.temperature_required_types
    assert "mahjong" not in th.temperature_required_types


def test_custom_thresholds_are_used() -> None:
    events = [checkpoint_scan("e1", 0, temperature_c=37.5)]

    assert keys_of(run_rules(events), "fever") == [("fever", "warning", ("e1",))]
    assert keys_of(run_rules(events, Thresholds(fever_warning_c=38.0)), "fever") == []


def test_a_duplicate_event_id_is_dropped_and_the_first_kept() -> None:
    first = checkpoint_scan("e1", 0, temperature_c=38.6)
    again = checkpoint_scan("e1", 0, temperature_c=36.6)

    assert keys_of(run_rules([first, again]), "fever") == [("fever", "critical", ("e1",))]
    assert keys_of(run_rules([first, first]), "fever") == [("fever", "critical", ("e1",))]


def test_a_venue_closed_at_the_scan_instant_is_closed_for_it() -> None:
    # The register record comes later in the file, but sorts first at equal times.
    events = [venue_scan("s1", 100), venue(0), venue(100, status="closed")]

    assert keys_of(run_rules(events), "closed-venue-activity") == [
        ("closed-venue-activity", "critical", ("s1",))
    ]


def test_a_venue_closed_a_moment_after_the_scan_is_open_for_it() -> None:
    events = [venue(0), venue_scan("s1", 100), venue(100.001, status="closed")]

    assert keys_of(run_rules(events), "closed-venue-activity") == []


def test_a_risk_area_listed_then_cleared_with_low() -> None:
    events = [
        risk_area(0, "510107", "medium"),
        checkpoint_scan("s1", 10, travel=travel("510107")),
        risk_area(20, "510107", "low"),
        checkpoint_scan("s2", 30, travel=travel("510107"), person_id=person(2)),
    ]

    assert keys_of(run_rules(events), "risk-area-visitor") == [
        ("risk-area-visitor", "critical", ("s1",))
    ]


def test_events_at_one_time_are_ordered_by_event_id() -> None:
    venue_record = venue(0, type="restaurant")
    failing = [
        venue_scan(f"s{i}", 60, temperature_c=None, person_id=person(i)) for i in (4, 3, 2, 1)
    ]

    alerts = run_rules([venue_record, *failing])

    assert keys_of(alerts, "venue-noncompliance") == [
        ("venue-noncompliance", "warning", ("s1", "s2", "s3"))
    ]


def test_a_late_event_still_gets_its_per_event_alert() -> None:
    events = [clock("c1", 1000), checkpoint_scan("late", 1000 - 601, temperature_c=39.0)]

    assert keys_of(run_rules(events), "fever") == [("fever", "critical", ("late",))]


def test_an_event_at_the_watermark_is_not_late() -> None:
    # The dispatch exactly at the watermark still counts; one second older would be late.
    def breach_times(arrival: float) -> list[datetime]:
        dispatch = stage("d1", 50, "dispatched")
        events = [incident("r1", 0), clock("c1", arrival), dispatch, clock("c2", 2000)]
        return [a.event_time for a in of_rule(run_rules(events), "response-sla-breach")]

    assert breach_times(650) == [time_of(180)]  # dispatched in time; arrival missed
    assert breach_times(651) == [time_of(60)]  # the late dispatch is unseen


def test_a_deadline_fires_only_once_the_stream_is_past_it_by_the_lateness() -> None:
    at_the_deadline = [incident("r1", 0), clock("c1", 60 + 600)]
    past_it = [incident("r1", 0), clock("c1", 60 + 600.001)]

    assert keys_of(run_rules(at_the_deadline), "response-sla-breach") == []
    assert keys_of(run_rules(past_it), "response-sla-breach") == [
        ("response-sla-breach", "critical", ("r1",))
    ]


def test_reference_records_do_not_move_the_stream_past_a_deadline() -> None:
    events = [incident("r1", 0), risk_area(DAY, "510107", "high")]

    assert keys_of(run_rules(events), "response-sla-breach") == []


def test_times_with_other_offsets_compare_as_instants() -> None:
    utc_twin = "2022-10-14T00:00:00+00:00"  # the same instant as 08:00+08:00 (T0)

    assert time_of(utc_twin) == time_of(0)
    assert local_day(time_of("2022-10-14T16:30:00+00:00")) == time_of(DAY).date()


def test_windows_are_aligned_to_the_epoch() -> None:
    assert window_index(time_of(15 * 60 - 0.000001), 900) + 1 == window_index(time_of(900), 900)
    assert window_index(time_of(0) - timedelta(microseconds=1), 300) + 1 == window_index(
        time_of(0), 300
    )


def test_haversine_uses_an_earth_radius_of_6371_km() -> None:
    one_degree_of_latitude = haversine_km((30.0, 103.0), (31.0, 103.0))

    assert abs(one_degree_of_latitude - 6371.0 * 3.141592653589793 / 180) < 1e-9
