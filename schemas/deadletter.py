"""The dead letter: a rejected record, why, and where it came from.

Built by the worker for every record ``decode`` rejects (and for
``wrong_topic``), written to the dead-letter topic; operators read them to fix
the producer. The payload is kept for diagnosis but redacted first
(``schemas.identity.redact``): raw ID and phone numbers stop at ingest, bad
records included. A UTF-8 payload is stored as text, anything else as base64,
so a dead letter is always valid JSON whatever it carries.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Final, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.decode import Rejected
from schemas.identity import redact

__all__ = ["DEAD_LETTER_SCHEMA_VERSION", "DeadLetter"]

DEAD_LETTER_SCHEMA_VERSION: Final = 1
"""The version of the dead-letter contract this module writes."""


class DeadLetter(BaseModel):
    """One rejected record on the dead-letter topic."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    schema_version: int = DEAD_LETTER_SCHEMA_VERSION
    """Version of this contract."""
    reason: str
    """The reason code (``docs/bad-input.md``), or ``wrong_topic``."""
    detail: str = ""
    """A human-readable explanation of the reason."""
    feed: str | None = None
    """The record's ``feed`` when it is one of the five."""
    topic: str
    """The topic the record was read from."""
    partition: Annotated[int, Field(ge=0)]
    """Its partition."""
    offset: Annotated[int, Field(ge=0)]
    """Its offset in that partition."""
    timestamp: AwareDatetime | None = None
    """The Kafka record's timestamp, when it had one."""
    payload: str
    """The record's value, redacted, as text or base64 (see ``payload_encoding``)."""
    payload_encoding: Literal["utf-8", "base64"]
    """``utf-8`` when the value was valid UTF-8, else ``base64``."""

    @classmethod
    def from_record(
        cls,
        raw: bytes,
        rejected: Rejected,
        *,
        topic: str,
        partition: int,
        offset: int,
        timestamp: datetime | None,
    ) -> Self:
        """The dead letter of a record ``decode`` rejected; the payload is redacted here.

        Called by the worker. Raises ``pydantic.ValidationError`` only on a
        programming error (negative offset, naive timestamp).
        """
        clean = redact(raw)
        encoding: Literal["utf-8", "base64"] = "utf-8"
        try:
            payload = clean.decode("utf-8")
        except UnicodeDecodeError:
            payload, encoding = base64.b64encode(clean).decode("ascii"), "base64"
        return cls(
            reason=rejected.reason,
            detail=rejected.detail,
            feed=rejected.feed,
            topic=topic,
            partition=partition,
            offset=offset,
            timestamp=timestamp,
            payload=payload,
            payload_encoding=encoding,
        )

    def payload_bytes(self) -> bytes:
        """The stored (redacted) payload as bytes, whatever its encoding.

        Raises ``ValueError`` when a ``base64`` payload is not valid base64.
        """
        if self.payload_encoding == "utf-8":
            return self.payload.encode("utf-8")
        try:
            return base64.b64decode(self.payload, validate=True)
        except binascii.Error as err:
            raise ValueError(f"payload is not valid base64: {err}") from err
