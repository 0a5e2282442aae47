"""``TopicReader``: a plain aiokafka consumer in a consumer group, inside the worker's app.

The base of the worker's two readers (``ingest_reader``, ``engine_reader``).
Started and stopped with the Faust app as a ``mode.Service``
(``app.add_runtime_dependency``). It takes records in batches (``getmany``):
Faust's per-message streams moved about 4,300 records/s on the 2-core
machine of docs/benchmarks.md where a plain aiokafka consumer moved 110,000,
so the hot paths do not go through Faust agents.

Subclasses implement ``on_batch`` and may implement ``on_assigned``,
``on_revoked``, ``after_poll`` and ``before_stop``. An exception from a hook
propagates: ``mode`` crashes the app and the worker stops (input is then read
again by whoever takes the partitions), never skipping records silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from mode import Service

__all__ = ["MAX_RECORDS", "TopicReader"]

log = logging.getLogger(__name__)

MAX_RECORDS = 5000
"""Records per ``getmany``: the most a reader handles between two looks at the loop."""


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, reader: TopicReader) -> None:
        self.reader = reader

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.reader.on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.reader.on_assigned(set(assigned))


class TopicReader(Service):
    """Reads ``topics`` as member of ``group``; see the module docstring."""

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str],
        group: str,
        session_timeout_s: float,
        **kwargs: Any,
    ) -> None:
        """The consumer is made in ``on_start``: aiokafka needs the running loop."""
        super().__init__(**kwargs)
        self.topics = list(topics)
        self.group = group
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "group_id": group,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": int(session_timeout_s * 1000),
            "heartbeat_interval_ms": int(session_timeout_s * 1000 / 3),
            "max_poll_records": MAX_RECORDS,
        }
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The running consumer (only between ``on_start`` and ``on_stop``)."""
        if self._consumer is None:
            raise RuntimeError(f"the reader of {self.topics} is not started")
        return self._consumer

    async def on_start(self) -> None:
        """Join the group (``mode`` calls it when the app starts)."""
        self._consumer = AIOKafkaConsumer(**self._config)
        await self._consumer.start()
        self._consumer.subscribe(self.topics, listener=_Listener(self))

    async def on_stop(self) -> None:
        """``before_stop``, then leave the group so others take the partitions at once."""
        if self._consumer is not None:
            try:
                await self.before_stop()
            finally:
                await self._consumer.stop()

    def assignment(self) -> set[TopicPartition]:
        """The partitions this reader holds now (empty before it has joined)."""
        return set() if self._consumer is None else set(self._consumer.assignment())

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """The partitions of a new assignment (all of them, after every rebalance)."""

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """The partitions about to be taken away, before the rebalance."""

    async def on_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Records of one partition, in order."""
        raise NotImplementedError

    async def after_poll(self) -> None:
        """Called after each ``getmany``, records or not."""

    async def before_stop(self) -> None:
        """Called before the consumer leaves the group."""

    @Service.task
    async def _read(self) -> None:
        """Hand every record to ``on_batch`` until the app stops."""
        consumer = self.consumer
        while not self.should_stop:
            batches = await consumer.getmany(timeout_ms=200, max_records=MAX_RECORDS)
            for tp, records in batches.items():
                await self.on_batch(tp, records)
            await self.after_poll()
