"""``SinkService``: flushes in flight, offsets committed in order once stored. No broker.

The service's reading and storing steps (``_take``, ``_tick``) are driven by
hand with stores that fail or wait on demand, and a consumer stand-in that
records commits, pauses and resumes. The broker-backed behaviour (crash,
outage, exact counts) is in ``tests/integration/test_sink_worker.py``.
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
from sinks.writer import BlockWriter
from streams.settings import Settings
from streams.sink.service import SinkService
from tests.unit.sink_samples import CST, FakeStore, alert

AT = datetime(2022, 10, 14, 8, 0, tzinfo=CST)
SETTINGS = Settings(sink_batch_rows=2, sink_batch_seconds=3600)
TP = TopicPartition(SETTINGS.topic_alerts, 0)


class Consumer:
    """What the service asks of its consumer: commits, pauses and resumes."""

    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.paused: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


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


def _service(*stores: FakeStore) -> tuple[SinkService, Consumer]:
    service = SinkService(SETTINGS)
    consumer = Consumer()
    service._consumer = consumer
    service._executor = ThreadPoolExecutor(1)
    service._store = stores[0]
    service._writer = BlockWriter(stores)
    service._batcher = Batcher(stores[0], max_rows=2, max_age=3600)
    service._next_retention = float("inf")
    return service, consumer


def _record(offset: int) -> SimpleNamespace:
    value = alert(f"ev-{offset}", AT + timedelta(minutes=offset)).model_dump_json().encode()
    return SimpleNamespace(value=value, headers=(), offset=offset, timestamp=0)


def _stored_rows(*stores: FakeStore) -> int:
    return sum(len(columns[0]) for store in stores for _, columns in store.blocks)


async def _finish(service: SinkService) -> None:
    """Wait for the flushes in flight, then let the service take them in."""
    running = service._running()
    if running:
        await asyncio.wait_for(asyncio.wait(running), 5)
    await service._tick()


def test_a_later_flush_done_first_waits_for_the_earlier_before_its_offsets_are_committed() -> None:
    async def scenario() -> None:
        FirstWaits.calls = 0
        FirstWaits.gate.clear()
        stores = (FirstWaits(), FirstWaits())
        service, consumer = _service(*stores)
        for offset in (0, 1):
            service._take(TP, _record(offset))
        await service._tick()  # flush 1 (offsets up to 2) starts and waits at the gate
        for offset in (2, 3):
            service._take(TP, _record(offset))
        await service._tick()  # flush 2 (up to 4) starts on the other store and is stored
        flush_two = service._flights[1].running
        assert flush_two is not None
        await asyncio.wait_for(flush_two, 5)
        await service._tick()
        assert _stored_rows(*stores) == 2, "the second flush is stored"
        assert consumer.commits == [], "nothing is committed before the first flush is stored"

        FirstWaits.gate.set()
        await _finish(service)
        assert _stored_rows(*stores) == 4
        assert consumer.commits == [{TP: 4}]
        assert service.pending_rows == 0 and not service._flights
        service._writer.close()  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_with_every_store_busy_the_loop_waits_for_the_oldest_flush() -> None:
    async def scenario() -> None:
        FirstWaits.calls = 0
        FirstWaits.gate.clear()
        store = FirstWaits()
        service, consumer = _service(store)
        for offset in (0, 1):
            service._take(TP, _record(offset))
        await service._tick()  # the only store is busy with flush 1
        for offset in (2, 3):
            service._take(TP, _record(offset))
        waiting = asyncio.ensure_future(service._tick())  # flush 2 is due: waits for flush 1
        await asyncio.sleep(0.1)
        assert not waiting.done()
        FirstWaits.gate.set()
        await asyncio.wait_for(waiting, 5)
        assert consumer.commits == [{TP: 2}]
        await _finish(service)
        assert consumer.commits == [{TP: 2}, {TP: 4}]
        service._writer.close()  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_a_failing_flush_keeps_the_rows_pauses_and_commits_only_once_stored() -> None:
    async def scenario() -> None:
        store = FakeStore()
        store.failing.add("alerts")
        service, consumer = _service(store)
        for offset in (0, 1):
            service._take(TP, _record(offset))
        await service._tick()
        await _finish(service)  # it failed: the retry waits for the backoff
        assert consumer.commits == []
        assert service.pending_rows == 2 and service._retry_at > 0
        assert consumer.paused == {TP}, "a full batch that cannot be stored pauses reading"

        await service._tick()  # before the backoff ends: no new attempt
        assert store.blocks == [] and not service._running()

        store.failing.clear()
        service._retry_at = 0.0
        await service._tick()
        await _finish(service)
        assert _stored_rows(store) == 2 and service.pending_rows == 0
        assert consumer.commits == [{TP: 2}] and consumer.paused == set()
        service._writer.close()  # type: ignore[union-attr]

    asyncio.run(scenario())


def test_a_revoke_stores_what_was_read_or_drops_it_uncommitted() -> None:
    async def scenario() -> None:
        store = FakeStore()
        service, consumer = _service(store)
        service._take(TP, _record(0))
        await service.revoked()
        assert _stored_rows(store) == 1 and consumer.commits == [{TP: 1}]

        store.failing.add("alerts")
        service._take(TP, _record(1))
        await service.revoked()
        assert consumer.commits == [{TP: 1}], "rows not stored: their offset is not committed"
        assert service.pending_rows == 0 and not service._flights
        service._writer.close()  # type: ignore[union-attr]

    asyncio.run(scenario())
