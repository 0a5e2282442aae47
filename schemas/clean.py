"""Events after ingest: pseudonymised models and the rules engine's record envelope.

Raw resident ID numbers and phone numbers stop at ingest (``docs/domain.md``,
"Personal data"). The worker's ingest stage decodes a record
(``schemas.decode``), calls ``pseudonymise`` with the secret key from the
settings, and from then on only these models travel: to the rules engine
(wrapped in an ``Envelope``), to the cleaned-event topics and to storage.

- ``CleanCheckpointScan`` and ``CleanVenueScan`` have the fields of the feed
  models, in the same order, except that ``person_id`` becomes ``person_key``
  (HMAC-SHA256 pseudonym, 64 hex, or null) and ``person_masked``
  (``5***************1X``), and ``phone`` becomes ``phone_masked``
  (``138****5678``).
- ``PatrolEvent``, ``RiskArea`` and ``Venue`` carry no personal data and pass
  unchanged.
- Unlike the feed models, every optional field of the clean scans may be
  null or absent, meaning the same. ``dump_envelope`` leaves nulls out, as
  the feed models that travel inside envelopes require.

The envelope (``EventRecord``, ``ReferenceRecord``, ``Watermark``, ``Idle``)
is what ingest sends to each partition of the engine topic and what
``rules.engine.Engine.feed`` takes: see ``docs/watermark.md``. ``dump_envelope``
and ``load_envelope`` are its JSON form on that topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, TypeAdapter
from pydantic_core import to_json

from schemas.feeds import (
    CheckpointScan,
    Event,
    Nat,
    PatrolEvent,
    Purchase,
    RiskArea,
    Travel,
    Venue,
    VenueScan,
)
from schemas.fields import RECORD_CONFIG, EventId, HealthCode, Identifier, Temperature, Time
from schemas.identity import mask_id, mask_phone, pseudonym

__all__ = [
    "FAMILIES",
    "CleanCheckpointScan",
    "CleanEvent",
    "CleanScan",
    "CleanVenueScan",
    "Envelope",
    "EventRecord",
    "Family",
    "Idle",
    "PersonKey",
    "ReferenceRecord",
    "RuleEvent",
    "Watermark",
    "dump_envelope",
    "dump_event_copies",
    "event_json",
    "load_clean_event",
    "load_envelope",
    "pseudonymise",
]

PersonKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""The keyed pseudonym of a resident ID number: HMAC-SHA256, 64 lowercase hex."""

Family = Literal["venue", "person", "checkpoint", "incident", "site", "inspection"]
"""A rule family of the engine; each keeps its state by its own key (``docs/watermark.md``)."""

FAMILIES: Final[tuple[Family, ...]] = (
    "venue",
    "person",
    "checkpoint",
    "incident",
    "site",
    "inspection",
)
"""Every rule family, in a fixed order."""


class _Clean(BaseModel):
    model_config = RECORD_CONFIG


class CleanCheckpointScan(_Clean):
    """A ``checkpoint_scan`` after ingest: no raw ID or phone number."""

    feed: Literal["checkpoint_scan"]
    """Always ``checkpoint_scan``."""
    event_id: EventId
    """Unique per event, 1 to 64 characters."""
    event_time: Time
    """When the scan happened, with its UTC offset."""
    checkpoint_id: Identifier
    """One of the registered checkpoints."""
    direction: Literal["in", "out"]
    """``in`` = entering the district."""
    person_key: PersonKey | None = None
    """Keyed pseudonym of ``person_id``; null (or absent) when the person showed no code."""
    person_masked: str | None = None
    """``person_id`` masked for people who must read it; null with ``person_key``."""
    phone_masked: str | None = None
    """``phone`` masked (``138****5678``); absent when the scan had no phone."""
    plate: str | None = None
    """Vehicle plate; may be absent."""
    temperature_c: Temperature
    """Body temperature, 34.0 to 43.0 degrees Celsius."""
    health_code: HealthCode
    """Health code colour, or ``none``."""
    travel: Travel
    """The travel code."""
    nat: Nat | None = None
    """The last nucleic acid test; may be absent."""


class CleanVenueScan(_Clean):
    """A ``venue_scan`` after ingest: no raw ID or phone number."""

    feed: Literal["venue_scan"]
    """Always ``venue_scan``."""
    event_id: EventId
    """Unique per event, 1 to 64 characters."""
    event_time: Time
    """When the scan happened, with its UTC offset."""
    venue_id: Identifier
    """The venue."""
    person_key: PersonKey | None = None
    """Keyed pseudonym of ``person_id``, or null (or absent)."""
    person_masked: str | None = None
    """``person_id`` masked, or null."""
    phone_masked: str | None = None
    """``phone`` masked; absent when the scan had no phone."""
    role: Literal["visitor", "staff"]
    """Whether the person visits or works at the venue."""
    health_code: HealthCode
    """Health code colour, or ``none``."""
    temperature_c: Temperature | None = None
    """Body temperature; null (or absent) = not taken."""
    mask: bool | None = None
    """Whether the person wore a mask; null (or absent) = not observed."""
    travel: Travel | None = None
    """The travel code; may be absent."""
    nat: Nat | None = None
    """The last nucleic acid test; may be absent."""
    purchase: Purchase | None = None
    """A medicine purchase (pharmacies only); may be absent."""


CleanScan = CleanCheckpointScan | CleanVenueScan
"""A scan after ingest."""

RuleEvent = CleanCheckpointScan | CleanVenueScan | PatrolEvent
"""An event the rules see (one with an ``event_id``), after ingest."""

CleanEvent = CleanCheckpointScan | CleanVenueScan | PatrolEvent | RiskArea | Venue
"""Any valid record after ingest: the five feeds, with no personal data left."""

_M = TypeVar("_M", bound=BaseModel)


def _trusted(model: type[_M], values: dict[str, Any]) -> _M:
    """Build ``model`` from values that are already valid, without validating again.

    What ``model_construct`` does, minus its per-field Python loop (about five
    times faster; this runs for every scan). Only for values taken from a
    validated feed model plus pseudonyms and masks made here; ``values`` must
    list every field in declaration order (serialisation follows it).

    Every instance shares one fields-set per model (all fields are always set):
    the models are frozen, so nothing adds to it in place (``model_copy`` copies
    it first), and the engine's buffer holds one tracked set fewer per event.
    """
    instance = _new(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", _ALL_FIELDS[model])
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


_new: Final = object.__new__
_set: Final = object.__setattr__


_ALL_FIELDS: Final[dict[type[BaseModel], set[str]]] = {
    model: set(model.model_fields) for model in (CleanCheckpointScan, CleanVenueScan)
}
"""The fields set shared by every trusted instance of a clean scan model."""


def _person(person_id: str | None, key: bytes) -> tuple[str | None, str | None]:
    if person_id is None:
        return None, None
    return pseudonym(person_id, key), mask_id(person_id)


def pseudonymise(event: Event, key: bytes) -> CleanEvent:
    """The record with its ID and phone numbers replaced; ingest calls it for every event.

    ``event`` comes from ``schemas.decode`` (so it is valid); ``key`` is the
    pseudonym secret from the settings. Scans become ``CleanCheckpointScan`` or
    ``CleanVenueScan``; other records are returned as they are. The same ID and
    key give the same ``person_key`` in every process. Raises ``ValueError``
    when ``key`` is empty.
    """
    if not key:
        raise ValueError("pseudonymise needs a non-empty secret key")
    if isinstance(event, CheckpointScan):
        return _clean_checkpoint_scan(event, key)
    if isinstance(event, VenueScan):
        return _clean_venue_scan(event, key)
    return event


def _clean_checkpoint_scan(scan: CheckpointScan, key: bytes) -> CleanCheckpointScan:
    person_key, person_masked = _person(scan.person_id, key)
    return _trusted(
        CleanCheckpointScan,
        {
            "feed": scan.feed,
            "event_id": scan.event_id,
            "event_time": scan.event_time,
            "checkpoint_id": scan.checkpoint_id,
            "direction": scan.direction,
            "person_key": person_key,
            "person_masked": person_masked,
            "phone_masked": None if scan.phone is None else mask_phone(scan.phone),
            "plate": scan.plate,
            "temperature_c": scan.temperature_c,
            "health_code": scan.health_code,
            "travel": scan.travel,
            "nat": scan.nat,
        },
    )


def _clean_venue_scan(scan: VenueScan, key: bytes) -> CleanVenueScan:
    person_key, person_masked = _person(scan.person_id, key)
    return _trusted(
        CleanVenueScan,
        {
            "feed": scan.feed,
            "event_id": scan.event_id,
            "event_time": scan.event_time,
            "venue_id": scan.venue_id,
            "person_key": person_key,
            "person_masked": person_masked,
            "phone_masked": None if scan.phone is None else mask_phone(scan.phone),
            "role": scan.role,
            "health_code": scan.health_code,
            "temperature_c": scan.temperature_c,
            "mask": scan.mask,
            "travel": scan.travel,
            "nat": scan.nat,
            "purchase": scan.purchase,
        },
    )


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event for one rule family, as ingest forwards it to an engine partition."""

    source: str
    """The input topic-partition it was read from, e.g. ``feeds.venue-scans/3``."""
    family: Family
    """The rule family this copy is for."""
    key: str
    """The family's key: venue id, person key, checkpoint, incident, site or inspected venue."""
    event: Annotated[RuleEvent, Field(discriminator="feed")]
    """The pseudonymised event."""
    kind: Literal["event"] = "event"
    """Tells envelopes apart on the engine topic."""


@dataclass(frozen=True, slots=True)
class ReferenceRecord:
    """A ``risk_area`` or ``venue`` record; ingest broadcasts it to every engine partition."""

    source: str
    """The input topic-partition it was read from."""
    record: Annotated[RiskArea | Venue, Field(discriminator="feed")]
    """The reference record."""
    kind: Literal["reference"] = "reference"
    """Tells envelopes apart on the engine topic."""


@dataclass(frozen=True, slots=True)
class Watermark:
    """Progress of one source; ingest broadcasts it after the records it covers."""

    source: str
    """The input topic-partition."""
    time: AwareDatetime
    """The highest event time read from that source so far."""
    kind: Literal["watermark"] = "watermark"
    """Tells envelopes apart on the engine topic."""


@dataclass(frozen=True, slots=True)
class Idle:
    """The source is caught up and silent: it no longer holds the watermark back."""

    source: str
    """The input topic-partition."""
    kind: Literal["idle"] = "idle"
    """Tells envelopes apart on the engine topic."""


Envelope = EventRecord | ReferenceRecord | Watermark | Idle
"""What an engine partition receives."""

_ENVELOPES: Final[TypeAdapter[Envelope]] = TypeAdapter(
    Annotated[Envelope, Field(discriminator="kind")]
)
_CLEAN: Final[TypeAdapter[CleanEvent]] = TypeAdapter(
    Annotated[CleanEvent, Field(discriminator="feed")]
)


def dump_envelope(envelope: Envelope) -> bytes:
    """The JSON form of an envelope for the engine topic (UTF-8 bytes)."""
    if isinstance(envelope, EventRecord):
        return _event_record_json(envelope)
    return _ENVELOPES.dump_json(envelope, exclude_none=True)


def _event_record_json(record: EventRecord) -> bytes:
    """``_ENVELOPES.dump_json(record, exclude_none=True)``, byte for byte, in half the time.

    Pydantic's serializer for the union of envelopes costs as much again as
    the event's own, so the few fixed fields are joined around the event's
    JSON here (same field order, same string escaping:
    ``pydantic_core.to_json``). ``test_rules_clean.py`` compares both.
    """
    return dump_event_copies(record.source, record.event, [(record.family, record.key)])[0]


def event_json(event: RuleEvent) -> bytes:
    """The event's JSON, nulls left out: what its envelopes and its clean-topic record
    (``schemas.downstream``) embed. Ingest makes it once per event for both."""
    return event.__pydantic_serializer__.to_json(event, exclude_none=True)


def dump_event_copies(
    source: str,
    event: RuleEvent,
    routes: Sequence[tuple[Family, str]],
    body: bytes | None = None,
) -> list[bytes]:
    """``dump_envelope(EventRecord(source, family, key, event))`` for each route, with
    the event serialised once: ingest writes one copy per (family, key) an event
    routes to (two on average), so this halves its serialising. ``body``: the
    event's ``event_json`` when the caller has it already."""
    head = b'{"source":' + to_json(source) + b',"family":'
    tail = b',"event":' + (event_json(event) if body is None else body) + b',"kind":"event"}'
    return [head + to_json(family) + b',"key":' + to_json(key) + tail for family, key in routes]


def load_envelope(raw: bytes | str) -> Envelope:
    """An envelope read back from the engine topic; validates everything again.

    The event inside is chosen by its ``feed`` (a discriminated union), not by
    trying each model in turn: half the time, the same result.

    Raises ``pydantic.ValidationError`` for anything ``dump_envelope`` did not
    write: the engine topic is internal, so that is a bug, not bad input.
    """
    return _ENVELOPES.validate_json(raw)


def load_clean_event(data: Any) -> CleanEvent:
    """A clean event from its ``model_dump(mode="json")`` form (snapshots of the engine)."""
    return _CLEAN.validate_python(data, strict=False)
