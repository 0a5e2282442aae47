"""The five input feeds of ``docs/feeds.md`` as pydantic models, exactly as written there.

Built by ``schemas.decode.decode`` from raw bytes (never construct them from
untrusted dicts any other way: ``decode`` is what turns a failure into a reason
code). Fields are declared in the order of the feed's table, which is the order
in which problems are reported. The models are strict (no coercion: ``"36.6"``
is not a number, ``1`` is not ``true``), frozen, and ignore fields the contract
does not name.

Decisions where ``docs/feeds.md`` leaves room (also in ``docs/bad-input.md``):

- "string or null" fields (``person_id``, venue scans' ``temperature_c`` and
  ``mask``) are required and may be ``null``; "optional" fields may be absent
  but not ``null``.
- ``site_id`` is optional for every kind, ``checkin`` included: a check-in
  without it is valid and counts for no key site.
- ``phone``, ``temperature_c`` and ``person_id`` follow the same rules in both
  scan feeds; identifiers are non-empty strings; ``capacity`` is ``>= 0``.
- Whether a ``checkpoint_id`` or ``site_id`` is registered is configuration,
  not schema: the rules decide what an unknown one means.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas.fields import (
    RECORD_CONFIG,
    AreaCode,
    EventId,
    HealthCode,
    Identifier,
    NatResult,
    NotNull,
    Phone,
    ResidentId,
    Temperature,
    Time,
)

__all__ = [
    "FEEDS",
    "FEED_MODELS",
    "KIND_REQUIRES",
    "CheckpointScan",
    "Event",
    "FeedName",
    "Inspection",
    "Location",
    "Nat",
    "PatrolEvent",
    "PatrolKind",
    "Purchase",
    "RiskArea",
    "Travel",
    "Venue",
    "VenueScan",
    "missing_for_kind",
]

FeedName = Literal["checkpoint_scan", "venue_scan", "patrol_event", "risk_area", "venue"]
"""The value of ``feed`` that names each of the five feeds."""

PatrolKind = Literal[
    "checkin", "incident_reported", "dispatched", "arrived", "resolved", "inspection"
]
"""What a ``patrol_event`` reports."""

IncidentType = Literal[
    "gathering",
    "rumor",
    "counterfeit_goods",
    "illegal_vaccine",
    "checkpoint_conflict",
    "dispute",
    "other",
]
VenueType = Literal[
    "pharmacy",
    "restaurant",
    "hotel",
    "mahjong",
    "bus_station",
    "mall",
    "supermarket",
    "residential",
    "construction_site",
    "police_station",
    "other",
]


class _Record(BaseModel):
    model_config = RECORD_CONFIG


class Travel(_Record):
    """The travel code of a scan."""

    star: bool
    """True when a city of the last 14 days currently has a medium- or high-risk area."""
    areas: tuple[AreaCode, ...]
    """6-digit county-level codes the phone stayed in over the last 14 days."""


class Nat(_Record):
    """The person's last nucleic acid test."""

    result: NatResult
    """``negative``, ``positive`` or ``pending``."""
    sampled_at: Time
    """When the sample was taken."""


class Purchase(_Record):
    """A medicine purchase at a pharmacy."""

    category: Literal["fever", "cough", "antiviral", "antibiotic", "other"]
    """The kind of medicine bought."""
    registered: bool
    """True when the buyer was registered, as the pharmacy rule requires."""


class Location(_Record):
    """A position in WGS-84 degrees."""

    lat: float
    """Latitude."""
    lon: float
    """Longitude."""


class Inspection(_Record):
    """The outcome of a police inspection of a venue."""

    target_id: Identifier
    """The inspected venue's ``venue_id``."""
    passed: bool
    """False when the venue failed the inspection."""
    issues: tuple[str, ...]
    """The problems found; may be empty."""


class CheckpointScan(_Record):
    """One person checked at a highway checkpoint."""

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
    person_id: ResidentId | None
    """Resident ID number; null when the person showed no code. Raw: stops at ingest."""
    phone: Annotated[Phone | None, NotNull] = None
    """11 digits; may be absent. Raw: stops at ingest."""
    plate: Annotated[str | None, NotNull] = None
    """Vehicle plate, e.g. ``川T12345``; may be absent."""
    temperature_c: Temperature
    """Body temperature, 34.0 to 43.0 degrees Celsius."""
    health_code: HealthCode
    """Health code colour, or ``none`` when no code was shown."""
    travel: Travel
    """The travel code."""
    nat: Annotated[Nat | None, NotNull] = None
    """The last nucleic acid test; may be absent."""


class VenueScan(_Record):
    """One venue-code scan."""

    feed: Literal["venue_scan"]
    """Always ``venue_scan``."""
    event_id: EventId
    """Unique per event, 1 to 64 characters."""
    event_time: Time
    """When the scan happened, with its UTC offset."""
    venue_id: Identifier
    """The venue; one without a ``venue`` record is processed as unregistered."""
    person_id: ResidentId | None
    """Resident ID number, or null. Raw: stops at ingest."""
    phone: Annotated[Phone | None, NotNull] = None
    """11 digits; may be absent. Raw: stops at ingest."""
    role: Literal["visitor", "staff"]
    """Whether the person visits or works at the venue."""
    health_code: HealthCode
    """Health code colour, or ``none`` when no code was shown."""
    temperature_c: Temperature | None
    """Body temperature, 34.0 to 43.0; null = not taken."""
    mask: bool | None
    """Whether the person wore a mask; null = not observed."""
    travel: Annotated[Travel | None, NotNull] = None
    """The travel code; may be absent."""
    nat: Annotated[Nat | None, NotNull] = None
    """The last nucleic acid test; may be absent."""
    purchase: Annotated[Purchase | None, NotNull] = None
    """A medicine purchase (pharmacies only); may be absent."""


KIND_REQUIRES: Final[dict[str, tuple[str, ...]]] = {
    "checkin": (),
    "incident_reported": ("incident_id", "incident_type"),
    "dispatched": ("incident_id",),
    "arrived": ("incident_id",),
    "resolved": ("incident_id",),
    "inspection": ("inspection",),
}
"""Fields a ``patrol_event`` must carry for each ``kind``, in table order."""


def missing_for_kind(kind: str, present: set[str] | frozenset[str]) -> str | None:
    """The first field ``kind`` requires that is not in ``present``, or None.

    Shared by the ``PatrolEvent`` validator and the reason finder of
    ``schemas.decode``, so both name the same field.
    """
    for name in KIND_REQUIRES.get(kind, ()):
        if name not in present:
            return name
    return None


class PatrolEvent(_Record):
    """A police patrol check-in, incident stage or inspection."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                    "then": {"required": list(fields)},
                }
                for kind, fields in KIND_REQUIRES.items()
                if fields
            ]
        }
    )

    feed: Literal["patrol_event"]
    """Always ``patrol_event``."""
    event_id: EventId
    """Unique per event, 1 to 64 characters."""
    event_time: Time
    """When it happened, with its UTC offset."""
    unit_id: Identifier
    """The patrol unit."""
    kind: PatrolKind
    """What happened."""
    site_id: Annotated[Identifier | None, NotNull] = None
    """For ``checkin``: a checkpoint id or ``bus-station``; optional for every kind."""
    incident_id: Annotated[Identifier | None, NotNull] = None
    """Required for ``incident_reported``, ``dispatched``, ``arrived``, ``resolved``."""
    incident_type: Annotated[IncidentType | None, NotNull] = None
    """Required for ``incident_reported``."""
    location: Annotated[Location | None, NotNull] = None
    """Where it happened; may be absent."""
    inspection: Annotated[Inspection | None, NotNull] = None
    """Required for ``inspection``."""

    @model_validator(mode="after")
    def _kind_requires(self) -> Self:
        present = {name for name in KIND_REQUIRES[self.kind] if getattr(self, name) is not None}
        missing = missing_for_kind(self.kind, present)
        if missing is not None:
            raise PydanticCustomError(
                "kind_requires_field",
                "a {kind} event requires {field}",
                {"kind": self.kind, "field": missing},
            )
        return self


class RiskArea(_Record):
    """One change of the health commission's risk-area list."""

    feed: Literal["risk_area"]
    """Always ``risk_area``."""
    area_code: AreaCode
    """6-digit county-level division code."""
    name: str
    """The area's name."""
    level: Literal["low", "medium", "high"]
    """The risk level; ``low`` clears an earlier listing."""
    event_time: Time
    """Effective from, with its UTC offset."""


class Venue(_Record):
    """One change of the venue register."""

    feed: Literal["venue"]
    """Always ``venue``."""
    venue_id: Identifier
    """The venue."""
    name: str
    """The venue's name."""
    type: VenueType
    """What kind of venue it is."""
    grid: str
    """The community grid or village it belongs to."""
    lat: float
    """Latitude, WGS-84 degrees."""
    lon: float
    """Longitude, WGS-84 degrees."""
    capacity: Annotated[int, Field(ge=0)]
    """How many people it may hold at once."""
    status: Literal["open", "closed"]
    """Whether it may operate."""
    event_time: Time
    """Effective from, with its UTC offset."""


Event = CheckpointScan | VenueScan | PatrolEvent | RiskArea | Venue
"""Any valid record of the five feeds; ``isinstance(x, Event)`` works."""

FEED_MODELS: Final[dict[str, type[Event]]] = {
    "checkpoint_scan": CheckpointScan,
    "venue_scan": VenueScan,
    "patrol_event": PatrolEvent,
    "risk_area": RiskArea,
    "venue": Venue,
}
"""The model of each feed, by the value of ``feed``."""

FEEDS: Final[tuple[str, ...]] = tuple(FEED_MODELS)
"""The five feed names, in the order of ``docs/feeds.md``."""
