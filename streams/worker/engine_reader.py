"""The engine stage's reader: the engine topic, partition by partition, into the engines.

Started with the worker's app (``streams.worker.app``). Consumer group
``<worker_group>-engine``: workers of one group split the engine partitions.
Offsets are never committed. A partition newly assigned to this worker is
read from its start into a fresh engine (the state is rebuilt from the log;
docs/worker.md, "Crash safety"); a partition that stays through a rebalance
keeps its engine and goes on after the last record it processed; a partition
that moves away has its engine dropped (``forget``), freeing its memory.

``handle(partition, offset, value, timestamp_s)`` takes every record in order;
its failure stops the worker: the engine topic is written by ingest only, so
a record the engine cannot take is a bug, not input to skip.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from streams.worker.reader import TopicReader

__all__ = ["EngineReader"]

log = logging.getLogger(__name__)

Handler = Callable[[int, int, bytes, float], Awaitable[None]]
"""``handle(partition, offset, value, timestamp_s)``: one engine-topic record."""


class EngineReader(TopicReader):
    """Reads the engine topic for the worker's engines; see the module docstring."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group: str,
        session_timeout_s: float,
        handle: Handler,
        forget: Callable[[int], None],
        **kwargs: Any,
    ) -> None:
        """``handle`` processes one record; ``forget(partition)`` drops a partition's engine."""
        super().__init__(bootstrap, [topic], group, session_timeout_s, **kwargs)
        self.topic = topic
        self._handle = handle
        self._forget = forget
        self.next_offset: dict[int, int] = {}
        """Per partition held: the offset after the last record processed."""

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        """Keep, start afresh, or forget each partition's engine."""
        partitions = {tp.partition for tp in assigned}
        for gone in [p for p in self.next_offset if p not in partitions]:
            del self.next_offset[gone]
            self._forget(gone)
        fresh = []
        for p in sorted(partitions):
            tp = TopicPartition(self.topic, p)
            if p in self.next_offset:
                self.consumer.seek(tp, self.next_offset[p])
            else:
                self._forget(p)  # whatever this worker once had for it is stale
                self.next_offset[p] = 0
                fresh.append(tp)
        if fresh:
            await self.consumer.seek_to_beginning(*fresh)
        log.info("engine partitions %s (read from the start: %s)", sorted(partitions),
                 [tp.partition for tp in fresh])  # fmt: skip

    async def on_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Every record to ``handle``, in order; a gap in the offsets is logged."""
        p = tp.partition
        for r in records:
            expected = self.next_offset.get(p)
            if expected is not None and r.offset > expected:
                log.warning("engine partition %d jumps from offset %d to %d", p, expected, r.offset)
            await self._handle(p, r.offset, r.value or b"", r.timestamp / 1000)
            self.next_offset[p] = r.offset + 1
