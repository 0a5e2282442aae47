"""The engine's window rules: venue-noncompliance (local day), crowding (15 min), surge (5 min)."""

from __future__ import annotations

from typing import Any

from tests.oracle.builders import (
    HOUR,
    MINUTE,
    checkpoint_scan,
    purchase,
    time_of,
    venue,
    venue_scan,
)
from tests.unit.rules_support import in_order, keys_of, of_rule, with_thresholds

Record = dict[str, Any]


def failing(event_id: str, at: float, **fields: Any) -> Record:
    """A venue scan that fails the protocol (no temperature taken)."""
    return venue_scan(event_id, at, temperature_c=None, **fields)


def test_the_third_failing_scan_of_a_day_fires_once_with_the_first_three() -> None:
    records = [venue(0), *(failing(f"f{i}", 10 + i) for i in range(5))]

    (alert,) = of_rule(in_order(records), "venue-noncompliance")
    assert (alert.evidence, alert.event_time, alert.venue_id) == (
        ("f0", "f1", "f2"),
        time_of(12),
        "v-1",
    )


def test_two_failing_scans_do_not_fire() -> None:
    records = [venue(0), failing("f1", 10), failing("f2", 20)]

    assert keys_of(in_order(records), "venue-noncompliance") == []


def test_failing_scans_either_side_of_local_midnight_are_different_days() -> None:
    midnight = 16 * HOUR  # T0 is 08:00 local
    records = [venue(0), failing("f1", midnight - 2), failing("f2", midnight - 1)]
    records += [failing("f3", midnight), failing("f4", midnight + 1)]

    assert keys_of(in_order(records), "venue-noncompliance") == []


def test_each_kind_of_failure_counts_and_a_scan_counts_once() -> None:
    records = [
        venue(0),
        venue_scan("f1", 10, role="staff", mask=False, temperature_c=None),
        venue_scan("f2", 20, purchase=purchase("cough", registered=False)),
        venue_scan("f3", 30, role="staff", mask=False),
    ]

    assert keys_of(in_order(records), "venue-noncompliance") == [
        ("venue-noncompliance", "warning", ("f1", "f2", "f3"))
    ]


def test_unmasked_visitors_and_unobserved_staff_masks_are_not_failures() -> None:
    records = [venue(0), failing("f1", 10), failing("f2", 20)]
    records += [venue_scan("n1", 30, mask=False), venue_scan("n2", 40, role="staff", mask=None)]

    assert keys_of(in_order(records), "venue-noncompliance") == []


def test_venues_without_temperature_duty_have_no_failing_scans() -> None:
    records = [venue(0, type="mahjong"), *(failing(f"f{i}", 10 + i) for i in range(3))]

    assert keys_of(in_order(records), "venue-noncompliance") == []


def crowd(count: int, start: float = 0, capacity: int = 3) -> list[Record]:
    scans = [venue_scan(f"s{i:02d}", start + i, person_id=None) for i in range(count)]
    return [venue(0, capacity=capacity), *scans]


def test_scans_up_to_capacity_are_no_crowd() -> None:
    assert keys_of(in_order(crowd(3)), "crowding") == []


def test_the_scan_over_capacity_fires_once_per_window() -> None:
    (alert,) = of_rule(in_order(crowd(6)), "crowding")

    assert (alert.evidence, alert.message) == (
        ("s03",),
        "crowding at v-1: 4 scans in 15 min (capacity 3)",
    )


def test_crowding_windows_are_aligned_fifteen_minutes() -> None:
    assert keys_of(in_order(crowd(4, start=15 * MINUTE - 2)), "crowding") == []


def test_crowding_uses_the_capacity_at_the_scan_time() -> None:
    records = [*crowd(3, capacity=5), venue(10, capacity=2), venue_scan("s99", 20)]

    assert keys_of(in_order(records), "crowding") == [("crowding", "warning", ("s99",))]


def test_scans_at_an_unregistered_venue_count_once_it_registers() -> None:
    records = [venue_scan(f"u{i}", i, venue_id="v-new") for i in range(3)]
    records += [venue(10, "v-new", capacity=3), venue_scan("u9", 20, venue_id="v-new")]

    assert keys_of(in_order(records), "crowding") == [("crowding", "warning", ("u9",))]


WINDOW = 300


def burst(window: int, count: int, direction: str = "in") -> list[Record]:
    """``count`` scans at jinjiguan-toll in surge window ``window`` (from T0)."""
    return [
        checkpoint_scan(
            f"w{window:02d}-{i:03d}", window * WINDOW + i, direction=direction, person_id=None
        )
        for i in range(count)
    ]


def steady(windows: range) -> list[Record]:
    return [scan for w in windows for scan in burst(w, 1)]


def surges(records: list[Record], **thresholds: Any) -> list[tuple[Any, ...]]:
    config = with_thresholds(**thresholds) if thresholds else None
    return keys_of(in_order(records, config), "checkpoint-surge")


def test_a_surge_after_the_warm_up_fires_at_the_crossing_scan() -> None:
    assert surges(steady(range(12)) + burst(12, 30)) == [
        ("checkpoint-surge", "warning", ("w12-020",))
    ]


def test_twenty_scans_are_not_twenty_over_a_mean_of_one() -> None:
    assert surges(steady(range(12)) + burst(12, 20)) == []


def test_no_surge_during_the_warm_up() -> None:
    assert surges(steady(range(11)) + burst(11, 40)) == []


def test_empty_windows_count_as_zero() -> None:
    assert surges(steady(range(11)) + burst(12, 21)) == [
        ("checkpoint-surge", "warning", ("w12-020",))
    ]


def test_a_surge_must_also_exceed_four_sigmas() -> None:
    assert surges(steady(range(11)) + burst(12, 5), surge_min_excess=1) == [
        ("checkpoint-surge", "warning", ("w12-002",))
    ]


def test_the_next_window_can_surge_again_over_the_updated_baseline() -> None:
    assert surges(steady(range(12)) + burst(12, 21) + burst(13, 26)) == [
        ("checkpoint-surge", "warning", ("w12-020",))
    ]
    assert surges(steady(range(12)) + burst(12, 21) + burst(13, 30)) == [
        ("checkpoint-surge", "warning", ("w12-020",)),
        ("checkpoint-surge", "warning", ("w13-027",)),
    ]


def test_outbound_scans_are_not_counted() -> None:
    assert surges(steady(range(12)) + burst(12, 40, direction="out")) == []
