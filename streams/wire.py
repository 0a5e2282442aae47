"""The wire: what the pipeline's processes write for each other on Kafka, besides the JSON.

Imported alike by the writers (the worker's ingest and engine stages) and the
readers (the engine stage, the sink, the benchmarks), so that both sides name
every header and build every key the same way; no other module spells them.
The record values are schema: the envelopes of the engine topic are
``schemas.clean``, alerts ``schemas.alerts``, clean-topic records
``schemas.downstream`` (a contract for readers outside the pipeline) and the
reason codes ``schemas.reasons``.

- **Engine topic** (ingest to the engine stage and the sink): event copies
  keyed ``engine_key(family, key)``; every copy of an input record, reference
  records included, carries ``cause_header`` (the input's Kafka timestamp);
  the one copy the sink stores carries ``STORE`` (``is_stored``). The
  ``source`` of an envelope is ``source_name(topic, partition)``.
- **Alerts topic** (the engine stage to the sink and downstream): keyed
  ``alert_key(alert)``, with ``cause_header`` (the record that raised it).
- **Dead-letter topic** (ingest to the sink and operators): the rejected
  record's own key, value and headers, plus the ``controlfeed.error.*``
  headers of ``dead_letter_headers``, which ``dead_letter_source`` reads back.

The state topic's format (keys, chunk header, manifest) is
``streams.worker.checkpoints``' own: one module writes and reads it.
Nothing here touches Kafka or metrics; only ``dead_letter_source`` raises
(``WireError``), on headers the worker did not write.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final, NamedTuple

from schemas.alerts import Alert
from schemas.errors import ControlfeedError

__all__ = [
    "CAUSE_HEADER",
    "ERROR_OFFSET_HEADER",
    "ERROR_PARTITION_HEADER",
    "ERROR_REASON_HEADER",
    "ERROR_TIMESTAMP_HEADER",
    "ERROR_TOPIC_HEADER",
    "STORE",
    "STORE_HEADER",
    "DeadLetterSource",
    "WireError",
    "alert_key",
    "cause_header",
    "cause_ms",
    "dead_letter_headers",
    "dead_letter_source",
    "engine_key",
    "is_stored",
    "source_name",
    "source_topic",
]

CAUSE_HEADER: Final = "controlfeed.cause.timestamp"
"""Kafka timestamp (ms, decimal) of the input record an engine record was made from, and
on an alert, of the record that raised it (the input's, or a marker's sending time);
detection latency counts from it."""
STORE_HEADER: Final = "controlfeed.store"
"""On the one engine-topic copy of an input record that the sink stores (value ``1``): an
event's copy for the first family of its route, a reference record's for partition 0."""
STORE: Final = (STORE_HEADER, b"1")
"""The header that marks the copy to store, as ingest sends it."""

ERROR_REASON_HEADER: Final = "controlfeed.error.reason"
"""Dead letters: the reason code (``docs/bad-input.md``, or ``wrong_topic``)."""
ERROR_TOPIC_HEADER: Final = "controlfeed.error.topic"
"""Dead letters: the topic the record was read from."""
ERROR_PARTITION_HEADER: Final = "controlfeed.error.partition"
"""Dead letters: the record's partition, in decimal."""
ERROR_OFFSET_HEADER: Final = "controlfeed.error.offset"
"""Dead letters: the record's offset, in decimal."""
ERROR_TIMESTAMP_HEADER: Final = "controlfeed.error.timestamp"
"""Dead letters: when the worker rejected the record, ISO-8601 in UTC (not read back)."""


class WireError(ControlfeedError):
    """A record whose headers are not what the worker writes (``str(err)`` names the
    header). The message never quotes the record's value: it may hold personal data."""


# ------------------------------------------------------------------ sources and keys


def source_name(topic: str, partition: int) -> str:
    """The name of an input source as the engines know it: ``topic/partition``.

    Ingest writes it into every envelope; the engine stage declares every
    source of the pipeline to its engines under the same names.
    """
    return f"{topic}/{partition}"


def source_topic(source: str) -> str:
    """The topic of a ``source_name`` (the part before the last ``/``)."""
    return source.rpartition("/")[0]


def engine_key(family: str, key: str) -> bytes:
    """The Kafka key of an event copy on the engine topic: ``family:key``."""
    return f"{family}:{key}".encode()


def alert_key(alert: Alert) -> bytes:
    """The alerts-topic key of ``alert``: its subject's id (venue, checkpoint, site,
    incident, or the ``person_key``), so the alerts of one subject stay in order."""
    return (alert.subject_id or alert.alert_id).encode()


# ------------------------------------------------------------------ headers


def cause_header(timestamp_ms: int) -> tuple[str, bytes]:
    """The cause header for a Kafka timestamp in ms (``CAUSE_HEADER``)."""
    return (CAUSE_HEADER, str(timestamp_ms).encode())


def cause_ms(headers: Iterable[tuple[str, bytes | None]]) -> int | None:
    """The cause timestamp (ms) of a record's headers, or None without one."""
    for name, value in headers:
        if name == CAUSE_HEADER and value:
            return int(value)
    return None


def is_stored(headers: Iterable[tuple[str, bytes | None]] | None) -> bool:
    """Whether an engine-topic record is the copy to store (it carries ``STORE_HEADER``)."""
    if not headers:
        return False
    return any(name == STORE_HEADER for name, _ in headers)


class DeadLetterSource(NamedTuple):
    """What a dead letter's headers say: why it was rejected, and where it was read."""

    reason: str
    """The reason code."""
    topic: str
    """The topic the rejected record was read from."""
    partition: int
    """Its partition."""
    offset: int
    """Its offset."""


def dead_letter_headers(
    original: list[tuple[str, bytes]], reason: str, topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    """The original headers plus the ``controlfeed.error.*`` ones, Kafka Connect style.

    Called by ingest once per rejected record; the timestamp is now's.
    """
    now = datetime.now(UTC).isoformat()
    return [
        *original,
        (ERROR_REASON_HEADER, reason.encode()),
        (ERROR_TOPIC_HEADER, topic.encode()),
        (ERROR_PARTITION_HEADER, str(partition).encode()),
        (ERROR_OFFSET_HEADER, str(offset).encode()),
        (ERROR_TIMESTAMP_HEADER, now.encode()),
    ]


def _header(headers: dict[str, bytes], name: str) -> str:
    try:
        return headers[name].decode("utf-8")
    except KeyError:
        raise WireError(f"dead letter without the {name} header") from None
    except UnicodeDecodeError:
        raise WireError(f"dead letter with an undecodable {name} header") from None


def dead_letter_source(headers: Iterable[tuple[str, bytes | None]]) -> DeadLetterSource:
    """The reason and source coordinates ``dead_letter_headers`` wrote (the sink reads them).

    Raises ``WireError`` when one is missing, not UTF-8, or (partition,
    offset) not a decimal number.
    """
    found = {name: raw or b"" for name, raw in headers}
    reason = _header(found, ERROR_REASON_HEADER)
    topic = _header(found, ERROR_TOPIC_HEADER)
    partition, offset = _header(found, ERROR_PARTITION_HEADER), _header(found, ERROR_OFFSET_HEADER)
    try:
        return DeadLetterSource(reason, topic, int(partition), int(offset))
    except ValueError:
        raise WireError("dead letter with a non-numeric source header") from None
