"""Pydantic models of the input feeds and of alerts; knows nothing of Kafka or ClickHouse.

The public surface other packages code against::

    from schemas import decode, Rejected, Event
    result = decode(raw_bytes)          # Event | Rejected, never raises
    if isinstance(result, Rejected):
        result.reason                   # e.g. "bad_value:temperature_c"

Modules: ``feeds`` (the five feed models), ``decode`` (bytes to event or
reason), ``reasons`` (the reason codes), ``identity`` (ID checksum, masking,
pseudonyms, redaction), ``alerts`` and ``deadletter`` (output contracts),
``catalogue`` (every rule as a row of data, and the thresholds' defaults:
``RuleId`` and the rules file derive from it; ``python -m schemas.rules_table``
prints its docs table), ``export`` (``python -m
schemas.export`` writes ``schemas/json/``), ``errors`` (``ControlfeedError``,
the root of every error of the project, and its tree).
"""

from schemas.alerts import Alert, alert_id
from schemas.deadletter import DeadLetter
from schemas.decode import Rejected, decode
from schemas.feeds import (
    FEEDS,
    CheckpointScan,
    Event,
    Inspection,
    Location,
    Nat,
    PatrolEvent,
    Purchase,
    RiskArea,
    Travel,
    Venue,
    VenueScan,
)
from schemas.identity import is_valid_id, mask_id, mask_phone, pseudonym, redact
from schemas.reasons import REASONS, WRONG_TOPIC

__all__ = [
    "FEEDS",
    "REASONS",
    "WRONG_TOPIC",
    "Alert",
    "CheckpointScan",
    "DeadLetter",
    "Event",
    "Inspection",
    "Location",
    "Nat",
    "PatrolEvent",
    "Purchase",
    "Rejected",
    "RiskArea",
    "Travel",
    "Venue",
    "VenueScan",
    "alert_id",
    "decode",
    "is_valid_id",
    "mask_id",
    "mask_phone",
    "pseudonym",
    "redact",
]
