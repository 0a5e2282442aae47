"""``Outbox``: the worker's one producer, librdkafka through confluent-kafka.

Used by the worker's wiring (``streams.worker.app``) for everything it
writes: engine records, markers, dead letters, alerts. ``send`` queues a
record in librdkafka's buffers and returns at once: no future, no callback
per record (aiokafka built and resolved a future for every record, a fifth
of the worker's time at full speed). Delivery reports come only for failures
(``delivery.report.only.error``); the first failure is kept, and ``check``
(called after every batch, by the timer and by ``flush``) raises
``DeliveryError``, which stops the worker before the input offsets of the
lost records can be committed. Idempotent, ``acks=all``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

__all__ = ["FLUSH_TIMEOUT_S", "LINGER_MS", "DeliveryError", "Outbox"]

log = logging.getLogger(__name__)

LINGER_MS = 5
"""How long librdkafka waits to fill a batch: part of every alert's latency."""
FLUSH_TIMEOUT_S = 60.0
"""How long ``flush`` waits for Kafka before it gives up (and the worker stops)."""


class DeliveryError(RuntimeError):
    """Kafka refused or could not take a record the worker sent: the worker stops and,
    restarted, reads its input again from the last commit."""


class Outbox:
    """The worker's producer; see the module docstring."""

    def __init__(self, bootstrap: str) -> None:
        """A producer for ``bootstrap``; it connects on first use."""
        self._failure: str | None = None
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": LINGER_MS,
                "batch.size": 1_000_000,
                "queue.buffering.max.messages": 1_000_000,
                "delivery.report.only.error": True,
                "on_delivery": self._report,
                "log_level": 3,
            }
        )

    def _report(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None and self._failure is None:
            self._failure = f"{msg.topic()}[{msg.partition()}]: {err.str()}"

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        partition: int | None = None,
        timestamp: float | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue one record; ``timestamp`` in seconds (None: now); ``partition`` None:
        by key. Waits (blocking) while librdkafka's queue is full."""
        kwargs: dict[str, Any] = {"key": key, "headers": headers}
        if partition is not None:
            kwargs["partition"] = partition
        if timestamp is not None:
            kwargs["timestamp"] = round(timestamp * 1000)
        while True:
            try:
                self._producer.produce(topic, value, **kwargs)
                return
            except BufferError:  # a full queue: let deliveries drain it
                self._producer.poll(0.05)

    def check(self) -> None:
        """Serve delivery reports; raise ``DeliveryError`` if a record was lost."""
        self._producer.poll(0)
        if self._failure is not None:
            raise DeliveryError(f"a record could not be delivered: {self._failure}")

    async def flush(self) -> None:
        """Wait (in a thread) until every queued record is in Kafka, then ``check``."""
        left = await asyncio.to_thread(self._producer.flush, FLUSH_TIMEOUT_S)
        if left:
            raise DeliveryError(f"{left} records not delivered within {FLUSH_TIMEOUT_S:.0f} s")
        self.check()
