"""The one way raw bytes become an event: ``decode(raw) -> Event | Rejected``.

Called by the worker for every Kafka record value, by ``controlfeed validate``
for every line of a file, and by tests. JSON parsing and validation happen in
one pass in pydantic-core (a ``TypeAdapter`` over the union of the five feeds,
discriminated on ``feed``); only a record that fails pays for working out its
reason. ``decode`` never raises on bad input: every problem becomes exactly one
reason code of ``docs/rules.md`` (the list is in ``schemas.reasons.REASONS``
and ``docs/bad-input.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Final

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from schemas.feeds import Event, missing_for_kind
from schemas.reasons import (
    FIELD_ORDER,
    INVALID_JSON,
    MISSING_FEED,
    NOT_AN_OBJECT,
    UNKNOWN_FEED,
    bad_value,
    missing_field,
)

__all__ = ["Rejected", "decode"]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that is not a valid event of ``docs/feeds.md``: what goes to the dead letters."""

    reason: str
    """Exactly one code of ``docs/rules.md``, e.g. ``bad_value:temperature_c``."""
    feed: str | None = None
    """The record's ``feed`` when it is one of the five; None before that could be read."""
    detail: str = ""
    """pydantic's explanation, for reports; names the rule broken, never the value
    of a field (no ID or phone number)."""


_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Annotated[Event, Field(discriminator="feed")])

_ENVELOPE_REASONS: Final[dict[str, str]] = {
    "json_invalid": INVALID_JSON,
    "dict_type": NOT_AN_OBJECT,
    "model_attributes_type": NOT_AN_OBJECT,
    "union_tag_not_found": MISSING_FEED,
    "union_tag_invalid": UNKNOWN_FEED,
}
"""Errors pydantic reports before any feed's fields are looked at (empty location)."""


def decode(raw: bytes | str) -> Event | Rejected:
    """Parse and validate one record; the event, or why it is bad input.

    ``raw`` is a Kafka record value or one line of an event file (without its
    newline). The result is a frozen model of one of the five feeds, times
    offset-aware as they came; or a ``Rejected`` whose ``reason`` names the
    first problem: envelope checks first (``invalid_json``, ``not_an_object``,
    ``missing_field:feed``, ``unknown_feed``), then the fields in ``docs/feeds.md``
    table order. Never raises for any input.
    """
    try:
        return _ADAPTER.validate_json(raw)
    except ValidationError as err:
        return _reject(raw, err.errors(include_url=False, include_input=False))


def _reject(raw: bytes | str, errors: list[ErrorDetails]) -> Rejected:
    first = errors[0]
    if not first["loc"]:
        return Rejected(_ENVELOPE_REASONS.get(first["type"], INVALID_JSON), None, first["msg"])
    feed = str(first["loc"][0])
    order = FIELD_ORDER[feed]
    best: tuple[int, str, str] | None = None
    for error in errors:
        candidate = _field_reason(error, order)
        if candidate is not None and (best is None or candidate[0] < best[0]):
            best = candidate
    if feed == "patrol_event":
        kind_missing = _kind_missing(raw)
        if kind_missing is not None and (best is None or order[kind_missing] < best[0]):
            best = (
                order[kind_missing],
                missing_field(kind_missing),
                "Field required for this kind",
            )
    if best is None:  # cannot happen: every model-level error has a field-level twin
        return Rejected(bad_value("feed"), feed, first["msg"])
    return Rejected(best[1], feed, best[2])


def _field_reason(error: ErrorDetails, order: dict[str, int]) -> tuple[int, str, str] | None:
    """(position, reason, message) of one field error; None for a model-level error."""
    name = ""
    for part in error["loc"][1:]:
        if not isinstance(part, str):
            continue  # a list index: the list's own name is reported
        dotted = f"{name}.{part}" if name else part
        if dotted in order:
            name = dotted
    if not name:
        return None
    reason = missing_field(name) if error["type"] == "missing" else bad_value(name)
    return order[name], reason, error["msg"]


def _kind_missing(raw: bytes | str) -> str | None:
    """The field a patrol event's ``kind`` requires and lacks, read from the raw record.

    Needed on the failure path only: pydantic runs the model's kind check only
    when every field is valid, but the first problem may be a missing
    ``incident_id`` before a bad ``location``.
    """
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    if not isinstance(kind, str):
        return None
    return missing_for_kind(kind, frozenset(data))
