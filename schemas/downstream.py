"""The clean topics: what downstream systems read of each live feed.

Grid apps, the health commission and police dispatch read the alerts, the
alert state and, here, every valid event of the three live feeds after ingest:
validated, with ID and phone numbers replaced by ``person_key`` (a keyed
pseudonym) and masked forms (``schemas.clean``), as one record per event on
``clean.checkpoint-scans``, ``clean.venue-scans`` and ``clean.patrol-events``.
Each record is the clean event's JSON with ``schema_version`` first
(``docs/contracts.md`` says when the version changes), keyed by its subject:
the person (``person_key``) when the scan names one, else the place (the
checkpoint or venue); for a patrol event, the incident when it names one,
else the unit. So one subject's records stay in order on one partition.

Called by the worker's ingest stage (``downstream_record``, once per valid live
event) and by downstream readers and tests (``load_downstream``); the models'
JSON Schemas are committed under ``schemas/json/`` (``schemas.export``).
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import TypeAdapter

from schemas.clean import CleanCheckpointScan, CleanVenueScan, RuleEvent, event_json
from schemas.feeds import PatrolEvent

__all__ = [
    "CLEAN_SCHEMA_VERSION",
    "DOWNSTREAM_MODELS",
    "DownstreamCheckpointScan",
    "DownstreamEvent",
    "DownstreamPatrolEvent",
    "DownstreamVenueScan",
    "downstream_key",
    "downstream_record",
    "load_downstream",
]

CLEAN_SCHEMA_VERSION: Final = 1
"""The version of the clean topics' records (``docs/contracts.md``)."""


class DownstreamCheckpointScan(CleanCheckpointScan):
    """A record of ``clean.checkpoint-scans``: a clean checkpoint scan and its version."""

    schema_version: Literal[1]
    """The record's contract version; readers refuse a version they do not know."""


class DownstreamVenueScan(CleanVenueScan):
    """A record of ``clean.venue-scans``: a clean venue scan and its version."""

    schema_version: Literal[1]
    """The record's contract version; readers refuse a version they do not know."""


class DownstreamPatrolEvent(PatrolEvent):
    """A record of ``clean.patrol-events``: a patrol event (no personal data) and its version."""

    schema_version: Literal[1]
    """The record's contract version; readers refuse a version they do not know."""


DownstreamEvent = DownstreamCheckpointScan | DownstreamVenueScan | DownstreamPatrolEvent
"""Any record of a clean topic."""

DOWNSTREAM_MODELS: Final[dict[str, type[DownstreamEvent]]] = {
    "clean_checkpoint_scan": DownstreamCheckpointScan,
    "clean_venue_scan": DownstreamVenueScan,
    "clean_patrol_event": DownstreamPatrolEvent,
}
"""The clean topics' models, by schema file name."""

_ADAPTER: Final = TypeAdapter(DownstreamEvent)
_HEAD: Final = b'{"schema_version":' + str(CLEAN_SCHEMA_VERSION).encode() + b","


def downstream_key(event: RuleEvent) -> bytes:
    """The record key: the event's subject (module docstring)."""
    if isinstance(event, PatrolEvent):
        return (event.incident_id or event.unit_id).encode()
    if event.person_key is not None:
        return event.person_key.encode()
    place = event.checkpoint_id if isinstance(event, CleanCheckpointScan) else event.venue_id
    return place.encode()


def downstream_record(event: RuleEvent, body: bytes | None = None) -> tuple[bytes, bytes]:
    """(key, value) of the clean-topic record of ``event``: its JSON, nulls left out,
    with ``schema_version`` first. ``body``: its ``event_json`` when the caller (ingest,
    which embeds the same bytes in the engine copies) has it already."""
    body = event_json(event) if body is None else body
    return downstream_key(event), _HEAD + body[1:]


def load_downstream(value: bytes) -> DownstreamEvent:
    """A clean-topic record, validated (raises ``pydantic.ValidationError``)."""
    return _ADAPTER.validate_json(value)
