"""Which Kafka records become rows, and as what: pure functions, no I/O.

Called by ``streams.sink.service.SinkService`` for every record it reads, and
by unit tests. Each function returns the model to store, or None when the
record is stored from somewhere else (or is no data at all), and raises
``UnreadableRecordError`` when the record is not what the worker writes to
that topic.

- Engine topic: ingest sends every event once per element of
  ``rules.route(event)`` (each copy to its family's partition) and every
  reference record (risk area, venue) to every partition, and marks exactly
  one copy of each with the header ``controlfeed.store`` (the first family's,
  partition 0's): only marked records are decoded and stored; the other
  copies and the markers are skipped by a header check.
- Alerts topic: every ``Alert``.
- Alert-state topic: every ``AlertState`` (the console's actions), with its
  Kafka coordinates (the audit trail).
- Dead-letter topic: the redacted ``DeadLetter`` (reason, source topic,
  partition and offset from the ``controlfeed.error.*`` headers, payload
  masked by ``schemas.identity.redact``); the raw value never reaches a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import ValidationError

from schemas.alert_state import AlertState
from schemas.alerts import Alert
from schemas.clean import CleanEvent, EventRecord, ReferenceRecord, load_envelope
from schemas.deadletter import DeadLetter
from schemas.decode import Rejected, decode
from streams.sink.exceptions import UnreadableRecordError
from streams.wire import WireError, dead_letter_source, is_stored

__all__ = ["alert_of", "alert_state_of", "dead_letter_of", "event_of"]


def event_of(value: bytes, headers: Iterable[tuple[str, bytes | None]] | None) -> CleanEvent | None:
    """The event or reference record to store from one engine-topic record, or None.

    Ingest marks the one copy of each record to store (``streams.wire.is_stored``);
    every other record (other copies, markers) is skipped without decoding.
    Raises ``UnreadableRecordError`` for a marked value that is not an envelope.
    """
    if not is_stored(headers):
        return None
    try:
        envelope = load_envelope(value)
    except ValidationError as err:
        raise UnreadableRecordError(
            f"engine record is not an envelope ({err.error_count()} errors)"
        ) from None
    if isinstance(envelope, ReferenceRecord):
        return envelope.record
    if isinstance(envelope, EventRecord):
        return envelope.event
    return None


def alert_of(value: bytes) -> Alert:
    """The alert of one alerts-topic record. Raises ``UnreadableRecordError``."""
    try:
        return Alert.model_validate_json(value)
    except ValidationError as err:
        raise UnreadableRecordError(
            f"alerts record is not an alert ({err.error_count()} errors)"
        ) from None


def alert_state_of(value: bytes) -> AlertState:
    """The state record of one alert-state-topic record (an operator's action).
    Raises ``UnreadableRecordError``."""
    try:
        return AlertState.model_validate_json(value)
    except ValidationError as err:
        raise UnreadableRecordError(
            f"alert-state record is not an alert state ({err.error_count()} errors)"
        ) from None


def dead_letter_of(
    value: bytes, headers: Iterable[tuple[str, bytes | None]], timestamp_ms: int | None
) -> DeadLetter:
    """The redacted dead letter of one dead-letter-topic record.

    The reason and the source coordinates come from the ``controlfeed.error.*``
    headers (``streams.wire.dead_letter_source``); the detail and the feed are found
    again by decoding the value (deterministic). ``timestamp_ms`` is the
    record's Kafka timestamp, which ingest copies from the rejected record.
    Raises ``UnreadableRecordError`` when a header is missing or malformed.
    """
    try:
        reason, topic, partition, offset = dead_letter_source(headers)
    except WireError as err:
        raise UnreadableRecordError(str(err)) from None
    decoded = decode(value)
    if isinstance(decoded, Rejected):
        rejected = Rejected(reason=reason, feed=decoded.feed, detail=decoded.detail)
    else:  # a valid event on another feed's topic (wrong_topic)
        rejected = Rejected(reason=reason, feed=decoded.feed)
    stamp = None
    if timestamp_ms is not None and timestamp_ms >= 0:
        stamp = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    try:
        return DeadLetter.from_record(
            value, rejected, topic=topic, partition=partition, offset=offset, timestamp=stamp
        )
    except ValidationError:
        raise UnreadableRecordError("dead letter with impossible source coordinates") from None
