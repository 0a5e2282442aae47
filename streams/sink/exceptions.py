"""Errors of the sink's Kafka side (``streams.sink``).

    ControlfeedError            (schemas.errors) message and hint
    +-- SinkServiceError        base of the sink service's errors
        +-- UnreadableRecordError   a record of the engine, alerts or dead-letter topic
                                    that is not what the worker writes there; the
                                    service logs it and skips it (never stored, never
                                    retried)

Store failures are ``sinks.exceptions`` errors: the service retries those.
"""

from __future__ import annotations

from typing import Final

from schemas.errors import ControlfeedError

__all__ = ["SinkServiceError", "UnreadableRecordError"]

_ONLY_THE_WORKER: Final = (
    "The sink skips the record (it is not stored). Find what else writes to the topic: "
    "only the worker should (on a secured broker docs/security.md's ACLs keep others out)."
)


class SinkServiceError(ControlfeedError):
    """Base of the errors of ``streams.sink``."""


class UnreadableRecordError(SinkServiceError):
    """A record could not be read as what its topic carries (``str(err)`` says why).

    Raised by ``streams.sink.records``; caught by ``SinkService``, which logs the
    message (never the hint) and skips the record. The message never quotes the
    record's value: it may hold personal data.
    """

    def __init__(self, message: str, hint: str = _ONLY_THE_WORKER) -> None:
        super().__init__(message, hint)
