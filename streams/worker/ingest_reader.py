"""The ingest stage's reader: the five input topics, batch by batch, with safe commits.

Started with the worker's app (``streams.worker.app``). Consumer group
``settings.worker_group``: workers of one group split the input partitions.
``handle(tp, records)`` ingests a batch of one partition (decode, dead
letters, pseudonymise, route: ``streams.worker.ingest``) and queues what it
sends with the producer. Offsets are committed at most every
``COMMIT_INTERVAL_S``, when partitions are revoked and at stop, and always
after ``flush()`` has returned, i.e. after everything sent for those records
is in Kafka: a crash between the two reads the records again (at least once;
the engines drop the repeated copies, alerts repeat with their ids).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from streams.worker.reader import TopicReader

__all__ = ["COMMIT_INTERVAL_S", "IngestReader"]

log = logging.getLogger(__name__)

COMMIT_INTERVAL_S = 1.0
"""Longest time between two commits while records flow."""

BatchHandler = Callable[[TopicPartition, list[ConsumerRecord]], Awaitable[None]]


class IngestReader(TopicReader):
    """Reads the input topics for ingest; see the module docstring."""

    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        group: str,
        session_timeout_s: float,
        handle: BatchHandler,
        flush: Callable[[], Awaitable[None]],
        **kwargs: Any,
    ) -> None:
        """``handle`` ingests one partition's batch; ``flush`` waits for the producer."""
        super().__init__(bootstrap, topics, group, session_timeout_s, **kwargs)
        self._handle = handle
        self._flush = flush
        self._done: dict[TopicPartition, int] = {}
        self._last_commit = time.monotonic()

    async def on_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Ingest the batch; remember the offset after it for the next commit."""
        await self._handle(tp, records)
        self._done[tp] = records[-1].offset + 1

    async def after_poll(self) -> None:
        """Commit when the interval has passed."""
        if self._done and time.monotonic() - self._last_commit >= COMMIT_INTERVAL_S:
            await self.commit()

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        """Commit what was processed, so the next owner goes on from there."""
        await self.commit()

    async def before_stop(self) -> None:
        """Commit what was processed."""
        await self.commit()

    async def commit(self) -> None:
        """Flush the producer, then commit the offsets after the records processed."""
        self._last_commit = time.monotonic()
        if not self._done:
            return
        done, self._done = self._done, {}
        await self._flush()
        held = self.assignment()
        offsets = {tp: OffsetAndMetadata(o, "") for tp, o in done.items() if tp in held}
        if offsets:
            try:
                await self.consumer.commit(offsets)
            except CommitFailedError as err:  # a rebalance took them: the next owner re-reads
                log.warning("commit not accepted (%s): those records will be read again", err)
