"""Errors of the sink's Kafka side (``streams.sink``).

    SinkServiceError            base
    +-- UnreadableRecordError   a record of the engine, alerts or dead-letter topic
                                that is not what the worker writes there; the
                                service logs it and skips it (never stored, never
                                retried)

Store failures are ``sinks.exceptions`` errors: the service retries those.
"""

from __future__ import annotations

__all__ = ["SinkServiceError", "UnreadableRecordError"]


class SinkServiceError(Exception):
    """Base of the errors of ``streams.sink``."""


class UnreadableRecordError(SinkServiceError):
    """A record could not be read as what its topic carries (``str(err)`` says why).

    The message never quotes the record's value: it may hold personal data.
    """
