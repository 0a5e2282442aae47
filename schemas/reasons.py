"""The reason codes for bad input (``docs/rules.md``), and the order that picks one.

Used by ``schemas.decode`` to name the first problem of a rejected record, and
by anyone who needs the full, finite set of reasons (metric labels, reports,
``docs/bad-input.md``). Codes are plain strings so they travel unchanged
through Kafka headers, JSON and Prometheus labels.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Final

from pydantic import BaseModel

from schemas.feeds import FEED_MODELS, KIND_REQUIRES

__all__ = [
    "FIELD_ORDER",
    "INVALID_JSON",
    "MISSING_FEED",
    "NOT_AN_OBJECT",
    "REASONS",
    "UNKNOWN_FEED",
    "WRONG_TOPIC",
    "bad_value",
    "missing_field",
]

INVALID_JSON: Final = "invalid_json"
"""Not UTF-8, or not JSON."""
NOT_AN_OBJECT: Final = "not_an_object"
"""JSON, but not an object."""
MISSING_FEED: Final = "missing_field:feed"
"""An object without ``feed``."""
UNKNOWN_FEED: Final = "unknown_feed"
"""``feed`` is not one of the five (``null`` and non-strings included)."""
WRONG_TOPIC: Final = "wrong_topic"
"""Added by the worker, never by ``decode``: a valid event of another feed than the topic's."""


def missing_field(name: str) -> str:
    """``missing_field:<name>``: a required field, or one the ``kind`` requires, is absent."""
    return f"missing_field:{name}"


def bad_value(name: str) -> str:
    """``bad_value:<name>``: null where not allowed, wrong type, out of range, not in
    the enumeration, failed checksum, time without offset."""
    return f"bad_value:{name}"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _nested_model(arg)
            if found is not None:
                return found
    return None


def _walk(model: type[BaseModel], prefix: str) -> list[tuple[str, bool]]:
    """(dotted name, required) of every field, nested ones right after their parent."""
    names: list[tuple[str, bool]] = []
    for name, info in model.model_fields.items():
        names.append((prefix + name, info.is_required()))
        nested = _nested_model(info.annotation)
        if nested is not None:
            names.extend(_walk(nested, f"{prefix}{name}."))
    return names


FIELD_ORDER: Final[dict[str, dict[str, int]]] = {
    feed: {name: index for index, (name, _) in enumerate(_walk(model, ""))}
    for feed, model in FEED_MODELS.items()
}
"""Per feed, each dotted field name's position in the ``docs/feeds.md`` table order."""


def _all_reasons() -> frozenset[str]:
    reasons = {INVALID_JSON, NOT_AN_OBJECT, MISSING_FEED, UNKNOWN_FEED}
    kind_fields = {name for fields in KIND_REQUIRES.values() for name in fields}
    for model in FEED_MODELS.values():
        for name, required in _walk(model, ""):
            if name == "feed":
                continue
            reasons.add(bad_value(name))
            if required or name in kind_fields:
                reasons.add(missing_field(name))
    return frozenset(reasons)


REASONS: Final[frozenset[str]] = _all_reasons()
"""Every reason ``decode`` can give (``WRONG_TOPIC`` is the worker's and not in it)."""
