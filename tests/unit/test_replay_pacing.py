"""Pacing by event time and by rate, with a fake clock: no test sleeps."""

from __future__ import annotations

import pytest

from streams.devtools.replay.pacing import MIN_WAIT, RatePacer, SpeedPacer


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_real_time_waits_the_event_gap() -> None:
    clock = FakeClock()
    pacer = SpeedPacer(1, clock)

    assert pacer.delay(50.0) == 0.0  # the first timed record sets the origin
    assert pacer.delay(52.0) == 2.0


def test_speed_ten_waits_a_tenth() -> None:
    clock = FakeClock()
    pacer = SpeedPacer(10, clock)
    pacer.delay(50.0)

    assert pacer.delay(60.0) == pytest.approx(1.0)


def test_time_already_spent_is_not_waited_again() -> None:
    clock = FakeClock()
    pacer = SpeedPacer(1, clock)
    pacer.delay(50.0)
    clock.now += 1.5  # sending took that long

    assert pacer.delay(52.0) == pytest.approx(0.5)


def test_targets_are_absolute_so_lateness_is_caught_up() -> None:
    clock = FakeClock()
    pacer = SpeedPacer(1, clock)
    pacer.delay(0.0)
    clock.now += 5.0  # a stall

    assert pacer.delay(3.0) == 0.0
    assert pacer.delay(6.0) == pytest.approx(1.0)


def test_untimed_and_out_of_order_records_go_at_once() -> None:
    clock = FakeClock()
    pacer = SpeedPacer(1, clock)
    pacer.delay(100.0)

    assert pacer.delay(None) == 0.0
    assert pacer.delay(90.0) == 0.0


def test_waits_below_the_minimum_are_skipped() -> None:
    clock = FakeClock()
    pacer = SpeedPacer(1, clock)
    pacer.delay(0.0)

    assert pacer.delay(MIN_WAIT / 2) == 0.0


def test_a_second_loop_follows_the_first_in_time() -> None:
    clock = FakeClock()
    pacer = SpeedPacer(1, clock)
    for t in (0.0, 10.0):
        clock.now += pacer.delay(t)
    pacer.next_loop()

    assert pacer.delay(0.0) == 0.0  # loop 2 starts where loop 1 ended
    assert pacer.delay(10.0) == pytest.approx(10.0)


def test_rate_spaces_records_evenly() -> None:
    clock = FakeClock()
    pacer = RatePacer(4, clock)

    waits = []
    for _ in range(4):
        wait = pacer.delay(None)
        clock.now += wait
        waits.append(wait)

    assert waits == [0.0, 0.25, 0.25, 0.25]


def test_rate_catches_up_after_a_stall() -> None:
    clock = FakeClock()
    pacer = RatePacer(10, clock)
    pacer.delay(None)
    clock.now += 1.0

    assert [pacer.delay(None) for _ in range(10)] == [0.0] * 10


@pytest.mark.parametrize("bad", [0, -1])
def test_speed_and_rate_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        SpeedPacer(bad)
    with pytest.raises(ValueError, match="positive"):
        RatePacer(bad)
