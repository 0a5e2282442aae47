"""``SinkService``: offsets are committed only after a flush stores the rows. No broker.

The service's reading and storing steps (``_take``, ``_tick``) are driven by
hand with a store that fails on demand, and a consumer stand-in that records
commits, pauses and resumes. The broker-backed behaviour (crash, outage, exact
counts) is in ``tests/integration/test_sink_worker.py``.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import SimpleNamespace

from aiokafka import TopicPartition

from sinks.batch import Batcher
from streams.settings import Settings
from streams.sink.service import SinkService
from tests.unit.sink_samples import CST, FakeStore, alert

AT = datetime(2022, 10, 14, 8, 0, tzinfo=CST)
SETTINGS = Settings(sink_batch_rows=2, sink_batch_seconds=3600)
TP = TopicPartition(SETTINGS.topic_alerts, 0)


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


def test_a_failing_flush_keeps_the_rows_pauses_and_commits_only_once_stored() -> None:
    async def scenario() -> None:
        store = FakeStore()
        store.failing.add("alerts")
        service, consumer = _service(store)
        for offset in (0, 1):
            service._take(TP, _record(offset))
        await service._tick()  # two rows: a flush, which fails; the retry waits for the backoff
        assert consumer.commits == []
        assert service.pending_rows == 2 and service._retry_at > 0
        assert consumer.paused == {TP}, "a full batch that cannot be stored pauses reading"

        await service._tick()  # before the backoff ends: no new attempt
        assert store.blocks == [] and consumer.commits == []

        store.failing.clear()
        service._retry_at = 0.0
        await service._tick()
        assert await _stored_rows(store) == 2 and service.pending_rows == 0
        assert consumer.commits == [{TP: 2}] and consumer.paused == set()
        assert service._executor is not None
        service._executor.shutdown()

    asyncio.run(scenario())
