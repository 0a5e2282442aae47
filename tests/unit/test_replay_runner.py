"""The replay loop with a fake sink: one record per line, loops, stops, pacing, skips."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from streams.devtools.replay.producer import DeliveryLedger
from streams.devtools.replay.routing import Router
from streams.devtools.replay.runner import ReplayOptions, run_replay

TOPICS = {
    "checkpoint_scan": "t.cp",
    "venue_scan": "t.vs",
    "patrol_event": "t.pe",
    "risk_area": "t.ra",
    "venue": "t.ve",
}
GOOD = (
    b'{"feed":"risk_area","area_code":"510107","name":"Wuhou","level":"high",'
    b'"event_time":"2022-10-14T08:00:00+08:00"}'
)
LINES = [
    b'{"feed":"venue_scan","venue_id":"v-1","event_time":"2022-10-14T08:00:00+08:00"}',
    b"",
    GOOD,
    b"not json",
    b'{"feed":"patrol_event","unit_id":"u1","event_time":"2022-10-14T08:00:10+08:00"}',
]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ListSink:
    """Keeps what it is sent; delivers all at once, or fails the records it is told to."""

    def __init__(self, clock: FakeClock | None = None, fail: set[bytes] | None = None) -> None:
        self.ledger = DeliveryLedger()
        self.records: list[tuple[str, bytes, bytes]] = []
        self.waits: list[float] = []
        self.clock, self.fail = clock, fail or set()

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        self.ledger.sent[topic] += 1
        self.records.append((topic, key, value))
        if value in self.fail:
            self.ledger.failed(topic, value, "Local: Message timed out")
        else:
            self.ledger.delivered[topic] += 1

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.now += seconds

    def finish(self, timeout: float) -> None:
        pass


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(LINES) + b"\n")
    return path


def test_every_non_blank_line_is_one_record_sent_raw(events: Path) -> None:
    sink = ListSink()

    report = run_replay([events], Router(TOPICS), sink, ReplayOptions())

    assert [value for _, _, value in sink.records] == [line for line in LINES if line]
    assert report.lines == 4
    assert report.ok
    assert dict(sink.ledger.sent) == {"t.vs": 1, "t.ra": 1, "t.cp": 1, "t.pe": 1}


def test_gzip_and_plain_files_replay_in_the_order_given(events: Path, tmp_path: Path) -> None:
    packed = tmp_path / "more.jsonl.gz"
    packed.write_bytes(gzip.compress(GOOD + b"\n"))
    sink = ListSink()

    report = run_replay([packed, events], Router(TOPICS), sink, ReplayOptions())

    assert report.lines == 5
    assert sink.records[0][2] == GOOD


def test_loops_send_the_same_lines_again_unchanged(events: Path) -> None:
    sink = ListSink()

    report = run_replay([events], Router(TOPICS), sink, ReplayOptions(loops=3))

    assert len(sink.records) == 12
    assert sink.records[:4] == sink.records[4:8] == sink.records[8:]
    assert report.loops_done == 3


def test_skip_invalid_drops_what_schemas_decode_rejects(events: Path) -> None:
    sink = ListSink()

    report = run_replay([events], Router(TOPICS), sink, ReplayOptions(skip_invalid=True))

    assert [value for _, _, value in sink.records] == [GOOD]
    assert report.skipped_invalid == 3
    assert report.ok


def test_a_failed_delivery_stops_the_replay_and_names_the_line(events: Path) -> None:
    sink = ListSink(fail={GOOD})

    report = run_replay([events], Router(TOPICS), sink, ReplayOptions())

    assert not report.ok
    assert len(sink.records) == 2  # the line after the failure was never sent
    assert report.stopped_at == (0, (0, 4))
    assert sink.ledger.first_failures == {"t.ra": [(0, 3)]}
    assert report.where((0, 3)) == f"{events}:3"


def test_pacing_by_event_time_waits_through_the_sink(events: Path) -> None:
    clock = FakeClock()
    sink = ListSink(clock)

    run_replay([events], Router(TOPICS), sink, ReplayOptions(speed=2), clock=clock)

    assert sink.waits == [5.0]  # 10 s of event time at speed 2; untimed lines do not wait


def test_pacing_by_rate(events: Path) -> None:
    clock = FakeClock()
    sink = ListSink(clock)

    report = run_replay([events], Router(TOPICS), sink, ReplayOptions(rate=2), clock=clock)

    assert sink.waits == [0.5, 0.5, 0.5]
    assert report.elapsed == 1.5


def test_speed_and_rate_together_are_refused(events: Path) -> None:
    with pytest.raises(ValueError, match="exclude"):
        run_replay([events], Router(TOPICS), ListSink(), ReplayOptions(speed=1, rate=1))


def test_a_damaged_file_stops_the_replay_with_what_was_sent_counted(
    events: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jsonl.gz"
    packed = gzip.compress(b"\n".join(LINES * 2000))
    broken.write_bytes(packed[: len(packed) // 2])
    sink = ListSink()

    report = run_replay([events, broken], Router(TOPICS), sink, ReplayOptions())

    assert report.error is not None
    assert not report.ok
    assert report.lines == len(sink.records) >= 4


def test_ctrl_c_stops_the_replay_and_names_the_line(events: Path) -> None:
    class InterruptedSink(ListSink):
        def send(self, topic: str, key: bytes, value: bytes) -> None:
            if self.records:
                raise KeyboardInterrupt
            super().send(topic, key, value)

    sink = InterruptedSink()

    report = run_replay([events], Router(TOPICS), sink, ReplayOptions())

    assert report.interrupted and not report.ok
    assert report.stopped_at == (0, (0, 3))
    assert len(sink.records) == 1


def test_progress_is_reported_with_the_final_count(events: Path) -> None:
    seen: list[int] = []

    run_replay([events], Router(TOPICS), ListSink(), ReplayOptions(loops=2), seen.append)

    assert seen[-1] == 8


def test_records_without_a_report_are_unconfirmed() -> None:
    ledger = DeliveryLedger()
    ledger.sent["t"] += 3
    ledger.delivered["t"] += 1
    ledger.failed("t", b"x", "boom")

    assert ledger.unconfirmed("t") == 1
    assert ledger.first_error == "boom"
