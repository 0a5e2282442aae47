"""``SinkService``: flushes in flight, offsets committed in order once stored. No broker.

The stage's reading and storing steps (``handle``, ``after_poll``) are driven
by hand with stores that fail or wait on demand, and a consumer stand-in that
records commits, pauses and resumes. The broker-backed behaviour (crash,
outage, exact counts) is in ``tests/integration/test_sink_worker.py``.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from confluent_kafka import TopicPartition

from sinks.batch import Batcher
from sinks.writer import BlockWriter
from streams.settings import Settings
from streams.sink.service import SinkService
from tests.unit.sink_samples import CST, FakeStore, alert

AT = datetime(2022, 10, 14, 8, 0, tzinfo=CST)
SETTINGS = Settings(sink_batch_rows=2, sink_batch_seconds=3600)
TOPIC = SETTINGS.topic_alerts


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


class FirstWaits(FakeStore):
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

    def __init__(self, offset: int) -> None:
        self._offset = offset
        self._value = alert(f"ev-{offset}", AT + timedelta(minutes=offset)).model_dump_json()

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        return self._value.encode()

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (1, 0)


def _service(*stores: FakeStore) -> tuple[SinkService, Consumer]:
    service = SinkService(SETTINGS, "w-0", threading.Event())
    consumer = Consumer()
    service._consumer = consumer  # type: ignore[assignment]
    service._store = stores[0]
    service._writer = BlockWriter(stores)
    service._batcher = Batcher(stores[0], max_rows=2, max_age=3600)
    service._next_retention = float("inf")
    return service, consumer


def _read(service: SinkService, *offsets: int) -> None:
    service.handle([Record(o) for o in offsets])  # type: ignore[misc]


def _stored_rows(*stores: FakeStore) -> int:
    return sum(len(columns[0]) for store in stores for _, columns in store.blocks)


def _finish(service: SinkService) -> None:
    """Wait for the flushes in flight, then let the stage take them in."""
    running = service._running()
    if running:
        concurrent.futures.wait(running, timeout=5)
    service.after_poll()


def test_a_later_flush_done_first_waits_for_the_earlier_before_its_offsets_are_committed() -> None:
    FirstWaits.calls = 0
    FirstWaits.gate.clear()
    stores = (FirstWaits(), FirstWaits())
    service, consumer = _service(*stores)
    for offset in (0, 1):
        _read(service, offset)
    service.after_poll()  # flush 1 (offsets up to 2) starts and waits at the gate
    for offset in (2, 3):
        _read(service, offset)
    service.after_poll()  # flush 2 (up to 4) starts on the other store and is stored
    flush_two = service._flights[1].running
    assert flush_two is not None
    flush_two.result(timeout=5)
    service.after_poll()
    assert _stored_rows(*stores) == 2, "the second flush is stored"
    assert consumer.commits == [], "nothing is committed before the first flush is stored"

    FirstWaits.gate.set()
    _finish(service)
    assert _stored_rows(*stores) == 4
    assert consumer.commits == [{(TOPIC, 0): 4}]
    assert service.pending_rows == 0 and not service._flights
    service._writer.close()  # type: ignore[union-attr]


def test_with_every_store_busy_the_loop_waits_for_the_oldest_flush() -> None:
    FirstWaits.calls = 0
    FirstWaits.gate.clear()
    store = FirstWaits()
    service, consumer = _service(store)
    for offset in (0, 1):
        _read(service, offset)
    service.after_poll()  # the only store is busy with flush 1
    for offset in (2, 3):
        _read(service, offset)
    waiting = threading.Thread(target=service.after_poll)  # flush 2 due: waits for flush 1
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive()
    FirstWaits.gate.set()
    waiting.join(5)
    assert not waiting.is_alive()
    assert consumer.commits == [{(TOPIC, 0): 2}]
    _finish(service)
    assert consumer.commits == [{(TOPIC, 0): 2}, {(TOPIC, 0): 4}]
    service._writer.close()  # type: ignore[union-attr]


def test_a_failing_flush_keeps_the_rows_pauses_and_commits_only_once_stored() -> None:
    store = FakeStore()
    store.failing.add("alerts")
    service, consumer = _service(store)
    for offset in (0, 1):
        _read(service, offset)
    service.after_poll()
    _finish(service)  # it failed: the retry waits for the backoff
    assert consumer.commits == []
    assert service.pending_rows == 2 and service._retry_at > 0
    assert consumer.paused == {(TOPIC, 0)}, "a full batch that cannot be stored pauses reading"

    service.after_poll()  # before the backoff ends: no new attempt
    assert store.blocks == [] and not service._running()

    store.failing.clear()
    service._retry_at = 0.0
    service.after_poll()
    _finish(service)
    assert _stored_rows(store) == 2 and service.pending_rows == 0
    assert consumer.commits == [{(TOPIC, 0): 2}] and consumer.paused == set()
    service._writer.close()  # type: ignore[union-attr]


def test_a_revoke_stores_what_was_read_or_drops_it_uncommitted() -> None:
    store = FakeStore()
    service, consumer = _service(store)
    _read(service, 0)
    service.revoked([])
    assert _stored_rows(store) == 1 and consumer.commits == [{(TOPIC, 0): 1}]

    store.failing.add("alerts")
    _read(service, 1)
    service.revoked([])
    assert consumer.commits == [{(TOPIC, 0): 1}], "rows not stored: their offset is not committed"
    assert service.pending_rows == 0 and not service._flights
    service._writer.close()  # type: ignore[union-attr]
