"""Field types shared by the feed models, one per rule of ``docs/feeds.md``.

Used by ``schemas.feeds`` only. Every constraint here is checked by
pydantic-core in Rust except the ID checksum, a small Python callback. A failed
constraint becomes ``bad_value:<field>`` in ``schemas.decode``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StringConstraints,
)
from pydantic_core import core_schema

from schemas.identity import is_valid_id

__all__ = [
    "RECORD_CONFIG",
    "AreaCode",
    "EventId",
    "HealthCode",
    "Identifier",
    "NatResult",
    "NotNull",
    "Phone",
    "ResidentId",
    "Temperature",
    "Time",
]


RECORD_CONFIG = ConfigDict(
    strict=True,
    frozen=True,
    extra="ignore",
    allow_inf_nan=False,
    use_attribute_docstrings=True,
)
"""The model config of every feed record, raw or clean: strict, frozen, extra fields ignored."""


def _valid_id(value: str) -> str:
    if not is_valid_id(value):
        raise ValueError("not a resident ID number (17 digits and a digit or X, valid checksum)")
    return value


class _AbsentNotNull:
    """Strips the ``null`` branch pydantic builds for ``T | None``: the default
    ``None`` stands for "absent" (defaults are not validated), while a ``null``
    in the input fails like any other wrong type, in Rust and with the field's
    own name in the error location. The JSON schema shows ``T`` alone.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        schema = handler(source)
        if schema["type"] == "nullable":
            inner: core_schema.CoreSchema = schema["schema"]
            return inner
        return schema


NotNull = _AbsentNotNull()
"""Marks an optional field that may be absent but never ``null`` (``docs/feeds.md``
says "optional", not "or null"): ``Annotated[T | None, NotNull] = None``."""

Time = AwareDatetime
"""ISO-8601 with a UTC offset (``Z`` or ``+08:00``); a time without one is bad input.
The offset is kept on the parsed value."""

EventId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""``event_id``: 1 to 64 characters, unique per event."""

Identifier = Annotated[str, StringConstraints(min_length=1)]
"""A checkpoint, venue, unit, site, incident or target id: any non-empty string."""

ResidentId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{17}[0-9X]$"),
    AfterValidator(_valid_id),
    Field(description="18-character resident ID number (GB 11643), valid MOD 11-2 checksum"),
]
"""The resident ID number; format and checksum are both checked."""

Phone = Annotated[str, StringConstraints(pattern=r"^[0-9]{11}$")]
"""A phone number: exactly 11 ASCII digits."""

AreaCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
"""A 6-digit county-level administrative division code, e.g. ``511802``."""

Temperature = Annotated[float, Field(ge=34.0, le=43.0)]
"""Body temperature in degrees Celsius, 34.0 to 43.0 inclusive."""

HealthCode = Literal["green", "yellow", "red", "none"]
"""The colour of the health code; ``none`` means no code was shown."""

NatResult = Literal["negative", "positive", "pending"]
"""The result of a nucleic acid test."""
