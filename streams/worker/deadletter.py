"""Dead letters of the ingest stage: headers in Kafka Connect style and a counter.

Called by ``streams.worker.ingest`` for every record ``schemas.decode`` rejects
(or a valid event on another feed's topic, reason ``wrong_topic``). The dead
letter keeps the record's original key, value and headers; these headers are
added so an operator can find the source and the reason. Nothing here raises
on bad input.
"""

from __future__ import annotations

from datetime import UTC, datetime

from streams.metrics import record_dead_letter

__all__ = [
    "HEADER_OFFSET",
    "HEADER_PARTITION",
    "HEADER_REASON",
    "HEADER_TIMESTAMP",
    "HEADER_TOPIC",
    "WRONG_TOPIC",
    "dead_letter_headers",
]

HEADER_REASON = "controlfeed.error.reason"
"""Header naming the reason code (``docs/bad-input.md``, or ``wrong_topic``)."""
HEADER_TOPIC = "controlfeed.error.topic"
"""Header naming the topic the record was read from."""
HEADER_PARTITION = "controlfeed.error.partition"
"""Header with the record's partition, in decimal."""
HEADER_OFFSET = "controlfeed.error.offset"
"""Header with the record's offset, in decimal."""
HEADER_TIMESTAMP = "controlfeed.error.timestamp"
"""Header with the time the worker rejected the record, ISO-8601 in UTC."""
WRONG_TOPIC = "wrong_topic"
"""Reason of a valid event read from the topic of another feed."""


def dead_letter_headers(
    original: list[tuple[str, bytes]], reason: str, topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    """The original headers plus the ``controlfeed.error.*`` ones; counts the dead letter.

    Called once per rejected record, so the counter counts dead letters sent
    (a record re-read after a crash is counted again).
    """
    record_dead_letter(reason)
    now = datetime.now(UTC).isoformat()
    return [
        *original,
        (HEADER_REASON, reason.encode()),
        (HEADER_TOPIC, topic.encode()),
        (HEADER_PARTITION, str(partition).encode()),
        (HEADER_OFFSET, str(offset).encode()),
        (HEADER_TIMESTAMP, now.encode()),
    ]
