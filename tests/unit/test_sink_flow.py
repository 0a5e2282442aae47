"""``SinkFlow``: when the sink flushes, what it commits, how it backs off and pauses.

Driven through its public calls with explicit times, as ``SinkService``
drives it; no store, no broker, no threads. The service's wiring (futures,
consumer calls) is in ``test_sink_service_flush.py``, the broker-backed
behaviour (crash, outage, exact counts) in ``tests/integration/test_sink_worker.py``.
"""

from __future__ import annotations

import pytest

from streams.sink.flow import Chunk, Ended, Flight, SinkFlow

A, B = ("alerts", 0), ("alerts", 1)


def _flow(writers: int = 1, batch_rows: int = 2) -> SinkFlow:
    return SinkFlow(
        batch_rows=batch_rows, batch_seconds=1.0, retry_max_seconds=4.0, writers=writers
    )


def _chunk(rows: int, table: str = "alerts") -> Chunk:
    return Chunk(table, [list(range(rows))], rows)


def _read(
    flow: SinkFlow, now: float, upto: int, rows: int = 1, partition: tuple[str, int] = A
) -> None:
    flow.read(now, {partition: upto}, rows)


def _store(flow: SinkFlow, flight: Flight, now: float = 0.0) -> Ended:
    return flow.ended(flight, len(flight.chunks), failed=False, now=now)


def test_a_flush_is_due_at_batch_rows_or_batch_seconds_after_the_first_read() -> None:
    flow = _flow(batch_rows=3)
    assert not flow.due(100.0), "nothing read: nothing to flush"

    _read(flow, 10.0, 1)
    _read(flow, 10.5, 2)
    assert not flow.due(10.9)
    assert flow.due(11.0), "the first record read waited batch_seconds"

    flow.take([_chunk(2)])
    assert not flow.due(11.0), "the batch starts empty"
    _read(flow, 11.0, 5, rows=3)
    assert flow.due(11.0), "batch_rows rows"


def test_records_without_rows_still_make_a_flush_due_so_their_offsets_get_committed() -> None:
    flow = _flow()
    _read(flow, 0.0, 7, rows=0)
    assert flow.unflushed and flow.pending_rows == 0
    assert flow.due(1.0)

    flight = flow.take([])
    assert flow.start(1.0) == [], "a flight of offsets only has nothing to store"
    assert flow.release() == {A: 7}
    assert flight.rows == 0 and flow.flights == 0 and not flow.unflushed


def test_offsets_are_released_in_flight_order_once_every_earlier_flight_is_stored() -> None:
    flow = _flow(writers=2)
    _read(flow, 0.0, 2, rows=2)
    first = flow.take([_chunk(2)])
    _read(flow, 0.1, 4, rows=2)
    _read(flow, 0.1, 9, rows=1, partition=B)
    second = flow.take([_chunk(3)])
    assert flow.start(0.2) == [first, second] and flow.busy

    _store(flow, second)
    assert flow.release() == {}, "the later flight waits for the earlier"
    assert flow.pending_rows == 2 and flow.flights == 2

    _store(flow, first)
    assert flow.release() == {A: 4, B: 9}, "both at once, the later offset winning"
    assert flow.pending_rows == 0 and flow.flights == 0 and not flow.busy


def test_no_more_flights_run_than_writers_oldest_first() -> None:
    flow = _flow(writers=2)
    flights = []
    for upto in (1, 2, 3):
        _read(flow, 0.0, upto)
        flights.append(flow.take([_chunk(1)]))

    assert flow.start(0.0) == flights[:2]
    assert flow.running == flights[:2] and flow.busy
    assert flow.start(0.0) == [], "every writer is busy"

    _store(flow, flights[1])
    assert not flow.busy
    assert flow.start(0.0) == [flights[2]]


def test_a_failed_attempt_keeps_the_unstored_chunks_and_backs_off_doubling_to_the_cap() -> None:
    flow = _flow()
    _read(flow, 0.0, 3, rows=3)
    flight = flow.take([_chunk(1, "alerts"), _chunk(2, "dead_letters")])
    assert flow.start(0.0) == [flight]

    ended = flow.ended(flight, 1, failed=True, now=10.0)  # the first chunk stored, then a failure
    assert ended == Ended(retry_in=0.5)
    assert [c.table for c in flight.chunks] == ["dead_letters"] and flow.pending_rows == 2
    assert flow.start(10.4) == [], "not before the backoff ends"
    assert flow.start(10.5) == [flight]

    delays = []
    for now in (20.0, 30.0, 40.0, 50.0):
        ended = flow.ended(flight, 0, failed=True, now=now)
        assert ended.retry_in is not None
        delays.append(ended.retry_in)
        assert flow.start(now + ended.retry_in) == [flight]
    assert delays == [1.0, 2.0, 4.0, 4.0]
    assert flow.release() == {}, "nothing is committed while rows are not stored"

    assert _store(flow, flight, now=60.0) == Ended(failures=5)
    assert flow.release() == {A: 3}
    _read(flow, 60.0, 4)
    again = flow.take([_chunk(1)])
    assert flow.start(60.0) == [again]
    assert flow.ended(again, 0, failed=True, now=61.0) == Ended(retry_in=0.5), (
        "reset after a success"
    )


def test_during_a_backoff_no_flush_is_taken_and_a_batch_of_rows_pauses_reading() -> None:
    flow = _flow(batch_rows=3)
    _read(flow, 0.0, 1)
    flight = flow.take([_chunk(1)])
    flow.start(0.0)
    assert flow.ended(flight, 0, failed=True, now=1.0).retry_in == 0.5

    _read(flow, 1.1, 2)
    assert not flow.pause(1.2), "two rows wait (one in the batch, one in the flight)"
    _read(flow, 1.2, 4, rows=2)
    assert not flow.due(1.3), "a full batch keeps gathering while the backoff runs"
    assert flow.pause(1.3) and flow.paused
    assert not flow.pause(1.3), "paused once"
    assert flow.due(1.5), "due again once the backoff ends"

    flow.start(1.5)
    assert _store(flow, flight, now=1.6) == Ended(failures=1, resume=True)
    assert not flow.paused


def test_rows_waiting_do_not_pause_reading_unless_storing_fails() -> None:
    flow = _flow(batch_rows=2)
    _read(flow, 0.0, 5, rows=5)
    assert not flow.pause(0.0)


def test_a_drain_tries_each_waiting_flight_once_more_at_once() -> None:
    flow = _flow(writers=2)
    _read(flow, 0.0, 1)
    flight = flow.take([_chunk(1)])
    flow.start(0.0)
    flow.ended(flight, 0, failed=True, now=0.0)
    _read(flow, 0.0, 2)
    assert flow.unflushed
    later = flow.take([_chunk(1)])

    tried = flow.start_now()
    assert tried == [flight, later], "the backoff does not hold a drain back"
    flow.ended(flight, 0, failed=True, now=0.1)
    assert flow.start_now(skip=tried) == [], "a flight that failed in the drain stays"


def test_a_drop_forgets_the_rows_and_a_reset_the_offsets_and_the_pause() -> None:
    flow = _flow(batch_rows=1)
    _read(flow, 0.0, 1)
    flight = flow.take([_chunk(1)])
    flow.start(0.0)
    flow.ended(flight, 0, failed=True, now=0.0)
    _read(flow, 0.1, 2)
    assert flow.pause(0.1)

    assert flow.drop() == 2
    flow.reset()
    assert flow.pending_rows == 0 and flow.flights == 0 and not flow.paused
    assert not flow.unflushed and not flow.due(99.0)
    _read(flow, 1.0, 8, rows=0)
    flow.take([])
    assert flow.release() == {A: 8}, "only what was read after the reset"


def test_an_attempt_on_a_flight_that_is_not_running_is_a_bug() -> None:
    flow = _flow()
    _read(flow, 0.0, 1)
    flight = flow.take([_chunk(1)])
    with pytest.raises(AssertionError):
        flow.ended(flight, 1, failed=False, now=0.0)


def test_a_flow_refuses_settings_it_cannot_work_with() -> None:
    with pytest.raises(ValueError):
        SinkFlow(batch_rows=0, batch_seconds=1.0, retry_max_seconds=4.0)
