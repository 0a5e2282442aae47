"""The producer behind replay: a small interface, its ledger, and the Kafka one.

The replay loop (``runner``) talks to a ``RecordSink`` only: ``send`` hands a
record over, ``wait`` passes time while delivery reports come in, ``finish``
flushes. Every record is counted in a ``DeliveryLedger`` when handed over and
again when the broker confirms or refuses it, so a replay reports success only
for what was acknowledged.

``KafkaSink`` uses confluent-kafka (librdkafka): on this 2-core machine it
sends ~180k records/s where kafka-python 3 managed ~5k (its accumulator
contends for the GIL with its sender thread). Settings: ``acks=all``,
idempotence on (retries cannot duplicate or reorder), batches of up to 1 MiB
lingering 20 ms, no compression (measured faster here than lz4 on loopback),
and a bounded delivery time-out: librdkafka retries until it expires, then
reports the record as failed.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from streams.kafka import clients
from streams.settings import Settings

__all__ = ["DeliveryLedger", "KafkaSink", "Location", "RecordSink", "producer_config"]

Location = tuple[int, int]
"""Where a record came from: (index of the file in the replay's list, line number)."""

_POLL_MASK = 1023  # serve delivery reports every 1024 records


@dataclass
class DeliveryLedger:
    """Per topic: records handed over, acknowledged and refused; which lines failed.

    Filled by a ``RecordSink`` (``sent`` at hand-over, ``delivered`` / ``failed``
    from delivery reports); read by the replay loop (``failed_total``, once per
    line), which also fills ``first_failures`` at the end, and by the summary.
    """

    sent: Counter[str] = field(default_factory=Counter)
    """Records handed to the producer, by topic."""
    delivered: Counter[str] = field(default_factory=Counter)
    """Records the broker acknowledged (acks=all), by topic."""
    failures: Counter[str] = field(default_factory=Counter)
    """Records refused or timed out, by topic."""
    failed_total: int = 0
    """All failed records (a plain int: the replay loop reads it for every line)."""
    first_error: str = ""
    """The first failure's reason, e.g. ``Local: Message timed out``."""
    failed_values: set[int] = field(default_factory=set)
    """``hash()`` of each failed record's value, to find its line afterwards. In-process
    only (Python salts ``hash`` per process), which is all it is used for."""
    first_failures: dict[str, list[Location]] = field(default_factory=dict)
    """Per topic, the earliest lines whose record failed (filled by the replay loop)."""

    def failed(self, topic: str, value: bytes, reason: str) -> None:
        """Count one failed record and remember its value."""
        self.failures[topic] += 1
        self.failed_total += 1
        self.first_error = self.first_error or reason
        self.failed_values.add(hash(value))

    def unconfirmed(self, topic: str) -> int:
        """Records of ``topic`` handed over with no report yet (lost if the replay ends now)."""
        return self.sent[topic] - self.delivered[topic] - self.failures[topic]


class RecordSink(Protocol):
    """Where the replay loop sends records; ``KafkaSink`` here, a list in unit tests."""

    ledger: DeliveryLedger

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Hand one record over; counted as sent at once, as delivered or failed later."""
        ...

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass while serving delivery reports (used for pacing)."""
        ...

    def finish(self, timeout: float) -> None:
        """Wait until every record has a report, or ``timeout`` passes."""
        ...


def producer_config(settings: Settings, delivery_timeout: float) -> dict[str, Any]:
    """The librdkafka settings of replay's producer (also shown by the benchmark): the
    project's producer (``streams.kafka.clients``) tuned for throughput."""
    tuning: dict[str, Any] = {
        "linger.ms": 20,
        "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 512 * 1024,
        "delivery.timeout.ms": int(delivery_timeout * 1000),
        "log_level": 2,  # connection errors reach the ledger and the summary, not stderr
    }
    return clients.producer_config(settings, "controlfeed-replay", **tuning)


class KafkaSink:
    """A ``RecordSink`` over one confluent-kafka ``Producer``; not thread-safe.

    Delivery reports run inside ``send`` / ``wait`` / ``finish`` (librdkafka
    queues them until polled), on the caller's thread, through one callback
    for the whole producer: a callback object per record would cost a third of
    the throughput. A failed report carries the record's value, which is how
    the replay loop finds the line afterwards.
    """

    def __init__(self, settings: Settings, delivery_timeout: float) -> None:
        self.ledger = DeliveryLedger()
        self.broker_error = ""
        """The last error librdkafka reported about the cluster (e.g. all brokers down)."""
        config = producer_config(settings, delivery_timeout)
        config.update(error_cb=self._on_error, on_delivery=self._on_delivery)
        self._producer = Producer(config)
        self._produce = self._producer.produce
        self._count = 0

    def _on_error(self, err: KafkaError) -> None:
        self.broker_error = err.str()

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        topic = msg.topic() or ""
        if err is None:
            self.ledger.delivered[topic] += 1
        else:
            self.ledger.failed(topic, msg.value() or b"", err.str())

    def send(self, topic: str, key: bytes, value: bytes) -> None:
        """Hand one record to librdkafka; blocks (serving reports) while its queue is full.

        A record librdkafka refuses at once (e.g. larger than ``message.max.bytes``)
        is counted as sent and failed.
        """
        self.ledger.sent[topic] += 1
        try:
            self._produce(topic, value, key)
        except BufferError:
            self._produce_when_room(topic, key, value)
        except KafkaException as err:
            self.ledger.failed(topic, value, err.args[0].str())
        self._count += 1
        if not self._count & _POLL_MASK:
            self._producer.poll(0)

    def _produce_when_room(self, topic: str, key: bytes, value: bytes) -> None:
        while True:
            self._producer.poll(0.05)
            try:
                self._produce(topic, value, key)
                return
            except BufferError:
                continue
            except KafkaException as err:
                self.ledger.failed(topic, value, err.args[0].str())
                return

    def wait(self, seconds: float) -> None:
        """Serve delivery reports for ``seconds`` (librdkafka's poll returns early on reports)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._producer.poll(left)

    def finish(self, timeout: float) -> None:
        """Flush: every record is delivered, failed (after the delivery time-out) or,
        if ``timeout`` runs out first, left unconfirmed in the ledger."""
        self._producer.flush(timeout)
