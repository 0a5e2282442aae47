"""Which rule families need an event, under which key, and on which engine partition.

Called by the worker's ingest stage for every valid, pseudonymised record:
``route`` lists the ``(family, key)`` copies to send; ``partition_for`` picks
the engine partition of each copy. Reference records (``risk_area``,
``venue``) route to no family: ingest broadcasts them to every partition
(``is_broadcast``).

    checkpoint_scan   checkpoint: checkpoint_id; person: person_key (when not null)
    venue_scan        venue: venue_id;           person: person_key (when not null)
    patrol_event      site: every key site (any kind; see rules.patrol)
                      incident: incident_id      (incident_reported, dispatched,
                                                  arrived, resolved)
                      inspection: inspection.target_id (inspection)

Every event goes to exactly one family that owns its per-event rules
(checkpoint, venue, incident, inspection); a check-in has none.

``partition_for`` hashes with BLAKE2b, never with the built-in ``hash()``:
that is salted per process, and every ingest task of every worker must send
a key to the same partition.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

from rules.config import RulesConfig, default_config
from schemas.clean import CleanCheckpointScan, CleanEvent, CleanVenueScan, Family
from schemas.feeds import PatrolEvent, RiskArea, Venue

__all__ = ["INCIDENT_KINDS", "is_broadcast", "partition_for", "route"]

INCIDENT_KINDS = frozenset({"incident_reported", "dispatched", "arrived", "resolved"})
"""Patrol event kinds that belong to an incident."""


def is_broadcast(record: CleanEvent) -> bool:
    """True for reference records, which every engine partition receives."""
    return isinstance(record, RiskArea | Venue)


def _patrol(event: PatrolEvent, key_sites: Sequence[str]) -> list[tuple[Family, str]]:
    copies: list[tuple[Family, str]] = [("site", site) for site in key_sites]
    if event.kind in INCIDENT_KINDS and event.incident_id is not None:
        copies.append(("incident", event.incident_id))
    elif event.kind == "inspection" and event.inspection is not None:
        copies.append(("inspection", event.inspection.target_id))
    return copies


def route(event: CleanEvent, config: RulesConfig | None = None) -> list[tuple[Family, str]]:
    """The ``(family, key)`` copies of ``event`` to send; empty for reference records.

    ``config`` gives the key sites (the shipped defaults when omitted).
    """
    if isinstance(event, CleanCheckpointScan):
        if event.person_key is None:
            return [("checkpoint", event.checkpoint_id)]
        return [("checkpoint", event.checkpoint_id), ("person", event.person_key)]
    if isinstance(event, CleanVenueScan):
        if event.person_key is None:
            return [("venue", event.venue_id)]
        return [("venue", event.venue_id), ("person", event.person_key)]
    if isinstance(event, PatrolEvent):
        return _patrol(event, (config or default_config()).key_sites)
    return []


@lru_cache(maxsize=1 << 17)
def partition_for(family: Family, key: str, partitions: int) -> int:
    """The engine partition (``0 <= p < partitions``) of a family's key; stable everywhere.

    Raises ``ValueError`` when ``partitions`` is not positive. Cached: the same
    venues, checkpoints and people come back all the time.
    """
    if partitions < 1:
        raise ValueError("partitions must be at least 1")
    digest = hashlib.blake2b(f"{family}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions
