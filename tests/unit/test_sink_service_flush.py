"""``SinkService``: flushes in flight, offsets committed in order once stored. No broker.

The stage is opened (``open``) on stores that fail or wait on demand, with a
consumer stand-in that records commits, pauses and resumes, and driven by
hand through its hooks (``handle``, ``after_poll``, ``revoked``) as the
stage's thread drives it. The decisions themselves are ``SinkFlow``'s
(``test_sink_flow.py``); the broker-backed behaviour (crash, outage, exact
counts) is in ``tests/integration/test_sink_worker.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from confluent_kafka import Consumer as KafkaConsumer
from confluent_kafka import TopicPartition

from sinks import QueryResult, Store
from streams.settings import Settings
from streams.sink.service import SinkService
from tests.unit.sink_samples import CST, FakeStore, alert

AT = datetime(2022, 10, 14, 8, 0, tzinfo=CST)
ONE_WRITER = Settings(sink_batch_rows=2, sink_batch_seconds=3600)
"""No server URL: chDB's one writer."""
TWO_WRITERS = ONE_WRITER.model_copy(update={"clickhouse_url": "clickhouse://127.0.0.1:9/x"})
"""A server URL: ``sink_writers`` (2) connections."""
TOPIC = ONE_WRITER.topic_alerts


class Consumer:
    """What the stage asks of its consumer: its assignment, commits, pauses and resumes."""

    def __init__(self) -> None:
        self.commits: list[dict[tuple[str, int], int]] = []
        self.paused: set[tuple[str, int]] = set()

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, 0)]

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused.update((tp.topic, tp.partition) for tp in partitions)

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused.difference_update((tp.topic, tp.partition) for tp in partitions)

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        assert not asynchronous
        self.commits.append({(tp.topic, tp.partition): tp.offset for tp in offsets})


class Sink(SinkService):
    """The stage with the stand-in as its consumer (``Stage.run`` would make a real one)."""

    def __init__(self, settings: Settings, stores: Sequence[Store]) -> None:
        opened: Iterator[Store] = iter(stores)
        super().__init__(settings, "w-0", threading.Event(), open_store=lambda: next(opened))
        self.fake = Consumer()

    @property
    def consumer(self) -> KafkaConsumer:
        return cast(KafkaConsumer, self.fake)


class Tables(FakeStore):
    """A fake store that also takes the migrations and retention's queries (it has no parts)."""

    def execute(self, sql: str) -> None:
        pass

    def query(self, sql: str) -> QueryResult:
        return QueryResult((), ())


class FirstWaits(Tables):
    """The first insert made through any of these stores waits until ``gate`` is set."""

    gate = threading.Event()
    calls = 0
    lock = threading.Lock()

    def insert(self, table: str, columns: Sequence[Sequence[Any]]) -> None:
        with FirstWaits.lock:
            FirstWaits.calls += 1
            first = FirstWaits.calls == 1
        if first:
            assert FirstWaits.gate.wait(10), "the test never opened the gate"
        super().insert(table, columns)


class Record:
    """A record of the alerts topic as librdkafka hands it over."""

    def __init__(self, offset: int, value: bytes | None = None) -> None:
        self._offset = offset
        at = AT + timedelta(minutes=offset)
        self._value = value or alert(f"ev-{offset}", at).model_dump_json().encode()

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (1, 0)


@pytest.fixture(autouse=True)
def _gate_closed() -> None:
    FirstWaits.calls = 0
    FirstWaits.gate.clear()


def _open(settings: Settings, *stores: Tables) -> tuple[Sink, Consumer]:
    service = Sink(settings, stores)
    service.open()
    return service, service.fake


def _read(service: SinkService, *offsets: int) -> None:
    service.handle([Record(o) for o in offsets])  # type: ignore[misc]


def _stored_rows(*stores: FakeStore) -> int:
    return sum(len(columns[0]) for store in stores for _, columns in store.blocks)


def _until(service: SinkService, done: Callable[[], bool]) -> None:
    """Run the stage's loop (``after_poll``) until ``done()``; fails after 10 s."""
    deadline = time.monotonic() + 10
    while not done():
        assert time.monotonic() < deadline, "the sink never got there"
        service.after_poll()
        time.sleep(0.01)


def test_a_later_flush_done_first_waits_for_the_earlier_before_its_offsets_are_committed() -> None:
    stores = (FirstWaits(), FirstWaits())
    service, consumer = _open(TWO_WRITERS, *stores)
    _read(service, 0, 1)
    service.after_poll()  # flush 1 (offsets up to 2) starts and waits at the gate
    _read(service, 2, 3)
    service.after_poll()  # flush 2 (up to 4) starts on the other store
    _until(service, lambda: service.pending_rows == 2)  # flush 2 is stored and taken in
    assert _stored_rows(*stores) == 2, "the second flush is stored"
    assert consumer.commits == [], "nothing is committed before the first flush is stored"

    FirstWaits.gate.set()
    _until(service, lambda: service.pending_rows == 0)
    assert _stored_rows(*stores) == 4
    assert consumer.commits == [{(TOPIC, 0): 4}]
    service.close()


def test_with_every_store_busy_the_loop_waits_for_the_oldest_flush() -> None:
    store = FirstWaits()
    service, consumer = _open(ONE_WRITER, store)
    _read(service, 0, 1)
    service.after_poll()  # the only store is busy with flush 1
    _read(service, 2, 3)
    waiting = threading.Thread(target=service.after_poll)  # flush 2 due: waits for flush 1
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive()
    FirstWaits.gate.set()
    waiting.join(5)
    assert not waiting.is_alive()
    assert consumer.commits == [{(TOPIC, 0): 2}]
    _until(service, lambda: service.pending_rows == 0)
    assert consumer.commits == [{(TOPIC, 0): 2}, {(TOPIC, 0): 4}]
    service.close()


def test_a_failing_flush_keeps_the_rows_pauses_and_commits_only_once_stored() -> None:
    store = Tables()
    store.failing.add("alerts")
    service, consumer = _open(ONE_WRITER, store)
    _read(service, 0, 1)
    _until(service, lambda: service.paused)  # it failed: the retry waits for the backoff
    assert consumer.paused == {(TOPIC, 0)}, "a full batch that cannot be stored pauses reading"
    assert consumer.commits == [] and service.pending_rows == 2

    store.failing.clear()
    _until(service, lambda: service.pending_rows == 0)  # retried after the backoff
    assert _stored_rows(store) == 2
    assert consumer.commits == [{(TOPIC, 0): 2}]
    assert consumer.paused == set() and not service.paused
    service.close()


def test_a_revoke_stores_what_was_read_or_drops_it_uncommitted() -> None:
    store = Tables()
    service, consumer = _open(ONE_WRITER, store)
    _read(service, 0)
    service.revoked([])
    assert _stored_rows(store) == 1 and consumer.commits == [{(TOPIC, 0): 1}]

    store.failing.add("alerts")
    _read(service, 1)
    service.revoked([])
    assert consumer.commits == [{(TOPIC, 0): 1}], "rows not stored: their offset is not committed"
    assert service.pending_rows == 0, "the rows are dropped, to be read again"
    service.close()


def test_unreadable_records_are_logged_once_per_interval_and_their_offsets_committed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Tables()
    service, consumer = _open(ONE_WRITER, store)
    with caplog.at_level("WARNING", logger="streams.sink.service"):
        service.handle([Record(offset, b"not an alert") for offset in range(50)])  # type: ignore[misc]

    assert len(caplog.records) == 1
    assert f"1 unreadable record(s) of {TOPIC}" in caplog.records[0].getMessage()
    assert service.pending_rows == 0
    service.revoked([])
    assert store.blocks == [] and consumer.commits == [{(TOPIC, 0): 50}]
    service.close()
