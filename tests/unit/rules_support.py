"""Helpers for the rules tests: records -> clean events -> envelopes -> engines -> alert keys.

``in_order`` feeds records the way one ingest task reading one event source
would (markers after every record, idle at the end), which is exactly the
oracle's arrival model: the same watermark, the same late events.
``Simulation`` spreads a scenario over many sources and engine partitions,
as the worker will.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rules import Engine, RulesConfig, default_config, partition_for, route
from schemas import Rejected, decode
from schemas.alerts import Alert
from schemas.clean import (
    CleanEvent,
    Envelope,
    EventRecord,
    Idle,
    ReferenceRecord,
    Watermark,
    pseudonymise,
)
from schemas.feeds import RiskArea, Venue
from schemas.identity import pseudonym
from tests.oracle import Alert as OracleAlert
from tests.oracle import run_rules

KEY = b"rules-test-secret"
EVENTS_SOURCE = "feeds.events/0"
REFERENCE_SOURCE = "ref.reference/0"

Key = tuple[str, str, tuple[str, ...]]


def clean(record: dict[str, Any]) -> CleanEvent:
    """A builder dict through the real path: JSON, ``decode``, ``pseudonymise``."""
    decoded = decode(json.dumps(record))
    assert not isinstance(decoded, Rejected), decoded
    return pseudonymise(decoded, KEY)


def envelopes_for(
    event: CleanEvent, source: str, config: RulesConfig | None = None
) -> list[Envelope]:
    """The envelopes of one record (before its marker), for one partition."""
    if isinstance(event, RiskArea | Venue):
        return [ReferenceRecord(source, event)]
    return [EventRecord(source, family, key, event) for family, key in route(event, config)]


def in_order_envelopes(
    records: Iterable[dict[str, Any]], config: RulesConfig | None = None
) -> list[Envelope]:
    """Records in arrival order as one event source (plus an always caught-up reference
    source): a marker after every record, idle markers at the end."""
    out: list[Envelope] = []
    highest: datetime | None = None
    for record in records:
        event = clean(record)
        if isinstance(event, RiskArea | Venue):
            out += [
                ReferenceRecord(REFERENCE_SOURCE, event),
                Watermark(REFERENCE_SOURCE, event.event_time),
                Idle(REFERENCE_SOURCE),
            ]
            continue
        out += envelopes_for(event, EVENTS_SOURCE, config)
        if highest is None or event.event_time > highest:
            highest = event.event_time
        out.append(Watermark(EVENTS_SOURCE, highest))
    return [*out, Idle(EVENTS_SOURCE)]


def in_order(records: Sequence[dict[str, Any]], config: RulesConfig | None = None) -> list[Alert]:
    """The engine's alerts for records arriving in this order at one partition."""
    engine = Engine(config)
    return engine.feed_all(in_order_envelopes(records, config))


def keys(alerts: Iterable[Alert | OracleAlert]) -> set[Key]:
    """The (rule, severity, evidence) identities."""
    return {(a.rule, a.severity, tuple(a.evidence)) for a in alerts}


def oracle_subject(alert: OracleAlert) -> tuple[str, str]:
    """The oracle's subject with a person as its pseudonym, as the engine names it."""
    if alert.subject_type == "person":
        return ("person", pseudonym(alert.subject_id, KEY))
    return (alert.subject_type, alert.subject_id)


def engine_subject(alert: Alert) -> tuple[str, str]:
    """The engine alert's subject and its id."""
    return (alert.subject, alert.subject_id or "")


def full(alerts: Iterable[Alert | OracleAlert]) -> set[tuple[Any, ...]]:
    """Key, event time (as an instant) and subject of every alert."""
    out: set[tuple[Any, ...]] = set()
    for a in alerts:
        subject = engine_subject(a) if isinstance(a, Alert) else oracle_subject(a)
        out.add((a.rule, a.severity, tuple(a.evidence), a.event_time.timestamp(), subject))
    return out


def diff_report(found: set[Any], expected: set[Any]) -> str:
    """Every missing and unexpected alert, one per line."""
    missing = sorted(expected - found, key=repr)
    unexpected = sorted(found - expected, key=repr)
    return "\n".join(
        [f"expected but not raised ({len(missing)}):"]
        + [f"  {m}" for m in missing]
        + [f"raised but not expected ({len(unexpected)}):"]
        + [f"  {u}" for u in unexpected]
    )


def assert_matches_oracle(
    records: Sequence[dict[str, Any]], config: RulesConfig | None = None
) -> list[Alert]:
    """The engine (in order, one partition) and the oracle give the same alerts."""
    alerts = in_order(records, config)
    expected = full(run_rules(records))
    found = full(alerts)
    assert found == expected, diff_report(found, expected)
    assert len(alerts) == len(found), "an alert was raised twice"
    return alerts


def partitioned(envelopes: Iterable[Envelope], partitions: int) -> list[list[Envelope]]:
    """Envelopes of one stream split over engine partitions (markers and references to all)."""
    out: list[list[Envelope]] = [[] for _ in range(partitions)]
    for envelope in envelopes:
        if isinstance(envelope, EventRecord):
            out[partition_for(envelope.family, envelope.key, partitions)].append(envelope)
        else:
            for part in out:
                part.append(envelope)
    return out


def of_rule(alerts: Iterable[Alert], rule: str) -> list[Alert]:
    """The alerts of one rule, in the order raised."""
    return [a for a in alerts if a.rule == rule]


def keys_of(alerts: Iterable[Alert], rule: str) -> list[Key]:
    """The (rule, severity, evidence) of one rule's alerts, in the order raised."""
    return [(a.rule, a.severity, a.evidence) for a in alerts if a.rule == rule]


def with_thresholds(**changes: Any) -> RulesConfig:
    """The default configuration with some thresholds changed."""
    config = default_config()
    return dataclasses.replace(config, thresholds=dataclasses.replace(config.thresholds, **changes))
