"""The console's writer of actions to the alert-state topic.

Called by the action route of ``streams.ops.console.app`` (on a thread); the
console answers once it has read the record back, so the topic's order
decides between two consoles acting at once.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, Message, Producer

from schemas.alert_state import AlertState
from streams.kafka.clients import producer
from streams.settings import Settings

__all__ = ["Actions"]


class Actions:
    """Writes actions to the alert-state topic (an idempotent producer, acks=all)."""

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.topic_alert_state
        self._producer: Producer = producer(settings, "controlfeed-console")

    def write(self, record: AlertState, timeout: float = 10.0) -> str | None:
        """Send ``record`` keyed by its alert and wait for the broker; None, or what failed."""
        failure: list[str] = []

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                failure.append(err.str())

        self._producer.produce(
            self._topic, record.model_dump_json().encode(), record.alert_id.encode(),
            on_delivery=delivered,
        )  # fmt: skip
        if self._producer.flush(timeout) > 0:
            return "Kafka did not take the action in time"
        return failure[0] if failure else None

    def close(self) -> None:
        """Deliver what is left."""
        self._producer.flush(5)
