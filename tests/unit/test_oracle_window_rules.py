"""The oracle's window rules: venue-noncompliance (local day), crowding, checkpoint-surge."""

from __future__ import annotations

from typing import Any

from tests.oracle import Thresholds, run_rules
from tests.oracle.builders import (
    HOUR,
    MINUTE,
    checkpoint_scan,
    keys_of,
    person,
    purchase,
    time_of,
    venue,
    venue_scan,
)

Event = dict[str, Any]
WINDOW = 300  # surge window; T0 (08:00 local) starts one


def failing(event_id: str, at: float, **fields: Any) -> Event:
    """A venue scan without a temperature: a failure where temperatures are required."""
    return venue_scan(event_id, at, temperature_c=None, **fields)


def test_the_third_failing_scan_of_a_day_fires_once_with_the_first_three() -> None:
    events = [venue(0, type="restaurant"), *(failing(f"f{i}", i * HOUR) for i in range(1, 5))]

    alerts = run_rules(events)

    assert keys_of(alerts, "venue-noncompliance") == [
        ("venue-noncompliance", "warning", ("f1", "f2", "f3"))
    ]
    assert [a.event_time for a in alerts] == [time_of(3 * HOUR)]


def test_two_failing_scans_do_not_fire() -> None:
    events = [venue(0, type="restaurant"), failing("f1", 10), failing("f2", 20)]

    assert keys_of(run_rules(events), "venue-noncompliance") == []


def test_failing_scans_either_side_of_local_midnight_are_different_days() -> None:
    # T0 is 08:00 local, so local midnight is T0 + 16 h; all four lie on one UTC day.
    midnight = 16 * HOUR
    events = [venue(0, type="hotel")]
    events += [failing("a", midnight - 60), failing("b", midnight - 1), failing("c", midnight)]
    events += [failing("d", midnight + 60)]

    assert keys_of(run_rules(events), "venue-noncompliance") == []


def test_each_kind_of_failure_counts_and_a_scan_counts_once() -> None:
    events = [
        venue(0, type="pharmacy"),
        venue_scan("f1", 10, role="staff", mask=False, temperature_c=None),
        venue_scan("f2", 20, purchase=purchase("cough", registered=False)),
        venue_scan("f3", 30, role="staff", mask=False),
    ]

    assert keys_of(run_rules(events), "venue-noncompliance") == [
        ("venue-noncompliance", "warning", ("f1", "f2", "f3"))
    ]


def test_unmasked_visitors_and_unobserved_staff_masks_are_not_failures() -> None:
    events = [
        venue(0, type="mall"),
        venue_scan("ok1", 10, role="visitor", mask=False),
        venue_scan("ok2", 20, role="staff", mask=None),
        venue_scan("ok3", 30, purchase=purchase("other", registered=False)),
    ]

    assert keys_of(run_rules(events), "venue-noncompliance") == []


def test_venues_without_temperature_duty_have_no_failing_scans() -> None:
    events = [venue(0, type="mahjong"), failing("f1", 10), failing("f2", 20), failing("f3", 30)]

    assert keys_of(run_rules(events), "venue-noncompliance") == []


def crowd(count: int, start: float = 0, capacity: int = 3) -> list[Event]:
    scans = [venue_scan(f"s{i:02d}", start + i, person_id=person(i)) for i in range(count)]
    return [venue(0, capacity=capacity), *scans]


def test_scans_up_to_capacity_are_no_crowd() -> None:
    assert keys_of(run_rules(crowd(3)), "crowding") == []


def test_the_scan_over_capacity_fires_once_per_window() -> None:
    assert keys_of(run_rules(crowd(6)), "crowding") == [("crowding", "warning", ("s03",))]


def test_crowding_windows_are_aligned_fifteen_minutes() -> None:
    # Two scans before 08:15:00 and two from it on: 2 + 2, never 4 in one window.
    events = crowd(4, start=15 * MINUTE - 2)

    assert keys_of(run_rules(events), "crowding") == []


def test_crowding_uses_the_capacity_at_the_scan_time() -> None:
    events = [*crowd(3, capacity=5), venue(10, capacity=2), venue_scan("s99", 20)]

    assert keys_of(run_rules(events), "crowding") == [("crowding", "warning", ("s99",))]


def burst(window: int, count: int, prefix: str = "") -> list[Event]:
    """`count` inbound scans at jinjiguan-toll in surge window number `window` (from T0)."""
    name = prefix or f"w{window:02d}-"
    return [checkpoint_scan(f"{name}{i:03d}", window * WINDOW + i) for i in range(count)]


def steady(windows: range) -> list[Event]:
    return [scan for w in windows for scan in burst(w, 1)]


def surge_keys(events: list[Event], th: Thresholds | None = None) -> list[tuple[Any, ...]]:
    return keys_of(run_rules(events, th or Thresholds()), "checkpoint-surge")


def test_a_surge_after_the_warm_up_fires_at_the_crossing_scan() -> None:
    # Twelve windows of 1: mean 1, var 0; the 21st scan is 20 over the mean.
    assert surge_keys(steady(range(12)) + burst(12, 30)) == [
        ("checkpoint-surge", "warning", ("w12-020",))
    ]


def test_twenty_scans_are_not_twenty_over_a_mean_of_one() -> None:
    assert surge_keys(steady(range(12)) + burst(12, 20)) == []


def test_no_surge_during_the_warm_up() -> None:
    assert surge_keys(steady(range(11)) + burst(11, 40)) == []


def test_empty_windows_count_towards_the_warm_up() -> None:
    # Windows 0-10 with one scan, 11 empty (count 0): mean 0.9, so 21 is 20.1 over it.
    assert surge_keys(steady(range(11)) + burst(12, 21)) == [
        ("checkpoint-surge", "warning", ("w12-020",))
    ]


def test_a_surge_must_also_exceed_four_sigmas() -> None:
    # After window 11 (empty): mean 0.9, var 0.09, 4 sigma 1.2; min excess lowered to 1:
    # 2 scans are 1.1 over (not > 1.2), the 3rd is 2.1 over.
    th = Thresholds(surge_min_excess=1)

    assert surge_keys(steady(range(11)) + burst(12, 5), th) == [
        ("checkpoint-surge", "warning", ("w12-002",))
    ]


def test_the_surge_window_updates_the_baseline() -> None:
    # After window 12 (21+ scans) mean >= 3, var >= 36: 26 scans in window 13 are no surge.
    assert surge_keys(steady(range(12)) + burst(12, 21) + burst(13, 26)) == [
        ("checkpoint-surge", "warning", ("w12-020",))
    ]


def test_the_next_window_can_surge_again() -> None:
    # Mean 3, var 36 after window 12: 30 scans in window 13 are 27 over, above 4 sigma (24).
    assert surge_keys(steady(range(12)) + burst(12, 21) + burst(13, 30)) == [
        ("checkpoint-surge", "warning", ("w12-020",)),
        ("checkpoint-surge", "warning", ("w13-027",)),
    ]


def test_outbound_scans_are_not_counted() -> None:
    outbound = [{**scan, "direction": "out"} for scan in burst(12, 40)]

    assert surge_keys(steady(range(12)) + outbound) == []
