"""``SinkService``: a flush runs in the background, one at a time, offsets after it. No broker.

The service's reading and storing steps (``_take``, ``_tick``) are driven by
hand with a store whose inserts wait for the test, and a consumer stand-in
that records commits. The broker-backed behaviour (crash, outage, exact
counts) is in ``tests/integration/test_sink_worker.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition

from sinks.batch import Batcher
from streams.settings import Settings
from streams.sink.service import SinkService
from tests.unit.sink_samples import CST, FakeStore, alert

AT = datetime(2022, 10, 14, 8, 0, tzinfo=CST)
SETTINGS = Settings(sink_batch_rows=2, sink_batch_seconds=3600)
TP = TopicPartition(SETTINGS.topic_alerts, 0)


class GatedStore(FakeStore):
    """Inserts wait until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def insert(self, table: str, columns: Sequence[Sequence[Any]]) -> None:
        assert self.gate.wait(10), "the test never opened the gate"
        super().insert(table, columns)


class Consumer:
    """What the service asks of its consumer when it commits."""

    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.paused: set[TopicPartition] = set()

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def _service(store: FakeStore) -> tuple[SinkService, Consumer]:
    service = SinkService(SETTINGS)
    consumer = Consumer()
    service._consumer = consumer
    service._executor = ThreadPoolExecutor(1)
    service._store = store
    service._batcher = Batcher(store, max_rows=2, max_age=3600)
    service._next_retention = float("inf")
    return service, consumer


def _record(offset: int) -> SimpleNamespace:
    value = alert(f"ev-{offset}", AT + timedelta(minutes=offset)).model_dump_json().encode()
    return SimpleNamespace(value=value, headers=(), offset=offset, timestamp=0)


async def _stored_rows(store: FakeStore) -> int:
    return sum(len(columns[0]) for _, columns in store.blocks)


def test_reading_goes_on_while_a_flush_is_in_flight_and_offsets_follow_it() -> None:
    async def scenario() -> None:
        store = GatedStore()
        service, consumer = _service(store)
        for offset in (0, 1):
            service._take(TP, _record(offset))
        await service._tick()  # two rows: the flush starts in the background
        await asyncio.sleep(0.05)
        assert service._flushing is not None and not service._flushing.done()

        service._take(TP, _record(2))  # one row: the loop is not held up
        await asyncio.wait_for(service._tick(), 1)
        assert consumer.commits == [] and store.blocks == []

        service._take(TP, _record(3))  # the next batch is full: now it waits for the flush
        waiting = asyncio.ensure_future(service._tick())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        store.gate.set()
        await asyncio.wait_for(waiting, 5)
        assert consumer.commits[0] == {TP: 2}, "the first flush commits only what it stored"
        assert await _stored_rows(store) == 2

        assert service._flushing is not None  # the second batch started at once
        await asyncio.wait_for(service._flushing, 5)
        assert consumer.commits[1] == {TP: 4}
        assert await _stored_rows(store) == 4
        service._executor.shutdown()  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_a_failing_flush_keeps_the_rows_pauses_and_commits_only_once_stored() -> None:
    async def scenario() -> None:
        store = FakeStore()
        store.failing.add("alerts")
        service, consumer = _service(store)
        for offset in (0, 1):
            service._take(TP, _record(offset))
        await service._tick()
        assert service._flushing is not None
        assert await asyncio.wait_for(service._flushing, 5) is False
        await service._tick()  # reaps the flush; the retry waits for the backoff
        assert consumer.commits == []
        assert service.pending_rows == 2
        assert service._flushing is None and service._retry_at > 0
        assert consumer.paused == {TP}, "a full batch that cannot be stored pauses reading"

        store.failing.clear()
        service._retry_at = 0.0
        await service._tick()
        assert service._flushing is not None
        assert await asyncio.wait_for(service._flushing, 5) is True
        assert consumer.commits == [{TP: 2}] and consumer.paused == set()
        service._executor.shutdown()

    asyncio.run(scenario())
