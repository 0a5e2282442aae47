"""Models rebuilt from JSON this pipeline wrote itself, without validating them again.

Used by ``rules.state`` to restore an engine checkpoint: its buffered events
were validated when they entered the pipeline and written by pydantic's own
serializer (``model_dump(mode="json", exclude_none=True)``), so validating
them again on the way back only costs time (about 50 µs an event, most of a
restore). ``load_trusted_event`` builds the same objects from that JSON form
in a few µs: ISO times back to aware datetimes, lists back to tuples, nested
models built the same way, absent optional fields as None; the instances are
made as ``schemas.clean`` makes its own (frozen, every field set).

Never use it on input from outside the pipeline: the feeds go through
``schemas.decode``. Data that is not such JSON raises ``KeyError``,
``TypeError`` or ``ValueError`` (the checkpoint is then refused and the engine
rebuilt).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel

from schemas.clean import CleanCheckpointScan, CleanEvent, CleanVenueScan
from schemas.feeds import PatrolEvent, RiskArea, Venue

__all__ = ["load_trusted_event", "trusted_loader"]

_new: Final = object.__new__
_set: Final = object.__setattr__
_Convert = Callable[[Any], Any]


def _strip_none(annotation: Any) -> Any:
    """``X`` for ``X | None`` and for ``Annotated[X, ...]``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip_none(args[0])
    if origin is typing.Annotated:
        return _strip_none(typing.get_args(annotation)[0])
    return annotation


def _converter(annotation: Any) -> _Convert | None:
    """How one field's JSON value becomes its Python value (None: as it is)."""
    kind = _strip_none(annotation)
    if kind in (datetime, AwareDatetime):
        return datetime.fromisoformat
    if kind is float:
        return float
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return trusted_loader(kind)
    if typing.get_origin(kind) is tuple:
        return tuple
    return None


_LOADERS: dict[type[BaseModel], Callable[[dict[str, Any]], Any]] = {}


def trusted_loader(model: type[BaseModel]) -> Callable[[dict[str, Any]], Any]:
    """A function building ``model`` from its own ``model_dump(mode="json")`` dict."""
    loader = _LOADERS.get(model)
    if loader is not None:
        return loader
    plan = [(name, _converter(field.annotation)) for name, field in model.model_fields.items()]
    fields_set = set(model.model_fields)

    def load(data: dict[str, Any]) -> Any:
        values = {}
        for name, convert in plan:
            value = data.get(name)
            values[name] = value if value is None or convert is None else convert(value)
        instance = _new(model)
        _set(instance, "__dict__", values)
        _set(instance, "__pydantic_fields_set__", fields_set)
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance

    _LOADERS[model] = load
    return load


_BY_FEED: Final[dict[str, Callable[[dict[str, Any]], Any]]] = {
    "checkpoint_scan": trusted_loader(CleanCheckpointScan),
    "venue_scan": trusted_loader(CleanVenueScan),
    "patrol_event": trusted_loader(PatrolEvent),
    "risk_area": trusted_loader(RiskArea),
    "venue": trusted_loader(Venue),
}


def load_trusted_event(data: dict[str, Any]) -> CleanEvent:
    """The clean event of ``model_dump(mode="json")``'s dict, chosen by its ``feed``."""
    event: CleanEvent = _BY_FEED[data["feed"]](data)
    return event
