"""The tables, aggregates and migrations table, as ClickHouse DDL.

Read by ``sinks.migrations`` (which applies it) and ``sinks.rows`` (whose
column tuples follow ``COLUMNS``). Every statement runs unchanged on Debian's
ClickHouse 18.16 and on current ClickHouse (chDB): no ``LowCardinality``, no
``DateTime64``, no ``TTL``, no nullable sorting keys. ``docs/storage.md``
explains the choices.

- Times are ``DateTime('Asia/Shanghai')`` (seconds); the milliseconds of an
  event time are kept apart in ``event_ms``. Days (partitions, retention) are
  days of China Standard Time.
- An absent text is ``''``, not ``NULL``: every ``Nullable`` column costs a null
  map on disk and a Python loop per block in clickhouse-driver. Numbers,
  booleans and times whose absence means something stay ``Nullable``.
- Every table is a ``ReplacingMergeTree`` whose sorting key ends with the row's
  identity (``event_id``, ``alert_id``, the dead letter's topic, partition and
  offset, or a reference record's key and time): a row stored twice is one
  row for every query that reads ``FINAL``.
- The per-minute aggregates are ``AggregatingMergeTree`` tables filled by
  materialized views with ``uniqExactState`` of the row's id, so a batch
  stored twice still counts once (read them with ``uniqExactMerge``).

This module is data only; never edit a statement a released migration uses:
add a migration instead.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AGGREGATES",
    "COLUMNS",
    "EVENT_TABLES",
    "MIGRATIONS_TABLE",
    "REFERENCE_TABLES",
    "TABLES",
    "TIME_ZONE",
    "alert_actions_statements",
    "create_statements",
]

TIME_ZONE: Final = "Asia/Shanghai"
"""The time zone of every ``DateTime`` column and of every day (partition)."""

_DT: Final = f"DateTime('{TIME_ZONE}')"

COLUMNS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "checkpoint_scans": (
        ("event_id", "String"),
        ("event_time", _DT),
        ("event_ms", "UInt16"),
        ("checkpoint_id", "String"),
        ("direction", "String"),
        ("person_key", "String"),
        ("person_masked", "String"),
        ("phone_masked", "String"),
        ("plate", "String"),
        ("temperature_c", "Float64"),
        ("health_code", "String"),
        ("travel_star", "UInt8"),
        ("travel_areas", "Array(String)"),
        ("nat_result", "String"),
        ("nat_sampled_at", f"Nullable({_DT})"),
    ),
    "venue_scans": (
        ("event_id", "String"),
        ("event_time", _DT),
        ("event_ms", "UInt16"),
        ("venue_id", "String"),
        ("person_key", "String"),
        ("person_masked", "String"),
        ("phone_masked", "String"),
        ("role", "String"),
        ("health_code", "String"),
        ("temperature_c", "Nullable(Float64)"),
        ("mask", "Nullable(UInt8)"),
        ("travel_star", "Nullable(UInt8)"),
        ("travel_areas", "Array(String)"),
        ("nat_result", "String"),
        ("nat_sampled_at", f"Nullable({_DT})"),
        ("purchase_category", "String"),
        ("purchase_registered", "Nullable(UInt8)"),
    ),
    "patrol_events": (
        ("event_id", "String"),
        ("event_time", _DT),
        ("event_ms", "UInt16"),
        ("unit_id", "String"),
        ("kind", "String"),
        ("site_id", "String"),
        ("incident_id", "String"),
        ("incident_type", "String"),
        ("lat", "Nullable(Float64)"),
        ("lon", "Nullable(Float64)"),
        ("inspection_target_id", "String"),
        ("inspection_passed", "Nullable(UInt8)"),
        ("inspection_issues", "Array(String)"),
    ),
    "risk_areas": (
        ("area_code", "String"),
        ("event_time", _DT),
        ("event_ms", "UInt16"),
        ("name", "String"),
        ("level", "String"),
    ),
    "venues": (
        ("venue_id", "String"),
        ("event_time", _DT),
        ("event_ms", "UInt16"),
        ("name", "String"),
        ("type", "String"),
        ("grid", "String"),
        ("lat", "Float64"),
        ("lon", "Float64"),
        ("capacity", "UInt32"),
        ("status", "String"),
    ),
    "alerts": (
        ("alert_id", "String"),
        ("schema_version", "UInt16"),
        ("rule", "String"),
        ("severity", "String"),
        ("subject", "String"),
        ("event_time", _DT),
        ("event_ms", "UInt16"),
        ("evidence", "Array(String)"),
        ("checkpoint_id", "String"),
        ("venue_id", "String"),
        ("site_id", "String"),
        ("incident_id", "String"),
        ("grid", "String"),
        ("person_key", "String"),
        ("person_masked", "String"),
        ("message", "String"),
    ),
    "dead_letters": (
        ("topic", "String"),
        ("partition", "UInt32"),
        ("offset", "UInt64"),
        ("time", _DT),
        ("has_timestamp", "UInt8"),
        ("reason", "String"),
        ("detail", "String"),
        ("feed", "String"),
        ("payload", "String"),
        ("payload_encoding", "String"),
    ),
    "alert_actions": (
        ("alert_id", "String"),
        ("version", "UInt32"),
        ("action_id", "String"),
        ("schema_version", "UInt16"),
        ("action", "String"),
        ("status", "String"),
        ("assignee", "String"),
        ("actor", "String"),
        ("at", _DT),
        ("at_ms", "UInt16"),
        ("note", "String"),
        ("kafka_partition", "UInt32"),
        ("kafka_offset", "UInt64"),
    ),
}
"""Every stored table's columns (name, ClickHouse type), in insert order."""

_LAYOUT: Final[dict[str, tuple[str, str]]] = {
    "checkpoint_scans": ("event_time", "checkpoint_id, event_time, event_id"),
    "venue_scans": ("event_time", "venue_id, event_time, event_id"),
    "patrol_events": ("event_time", "unit_id, event_time, event_id"),
    "risk_areas": ("event_time", "area_code, event_time, event_ms"),
    "venues": ("event_time", "venue_id, event_time, event_ms"),
    "alerts": ("event_time", "rule, grid, event_time, alert_id"),
    "dead_letters": ("time", "topic, partition, offset"),
    "alert_actions": ("at", "alert_id, version, action_id"),
}
"""Per table: the time column that names its day, and the sorting (and identity) key."""

TABLES: Final[tuple[str, ...]] = tuple(COLUMNS)
"""Every table rows are inserted into."""

EVENT_TABLES: Final[tuple[str, ...]] = (
    "checkpoint_scans",
    "venue_scans",
    "patrol_events",
    "alerts",
    "dead_letters",
    "alert_actions",
)
"""Tables of events and their results, and so of retention (``sinks.retention``)."""

REFERENCE_TABLES: Final[tuple[str, ...]] = ("risk_areas", "venues")
"""The reference feeds' history: kept whole, since the current register may be old."""

AGGREGATES: Final[dict[str, tuple[str, str, str]]] = {
    "checkpoint_scans_per_minute": (
        "checkpoint_id String, direction String, minute DateTime('Asia/Shanghai'), "
        "scans AggregateFunction(uniqExact, String)",
        "checkpoint_id, minute, direction",
        "SELECT checkpoint_id, direction, toStartOfMinute(event_time) AS minute, "
        "uniqExactState(event_id) AS scans FROM checkpoint_scans "
        "GROUP BY checkpoint_id, direction, minute",
    ),
    "venue_scans_per_minute": (
        "venue_id String, minute DateTime('Asia/Shanghai'), "
        "scans AggregateFunction(uniqExact, String)",
        "venue_id, minute",
        "SELECT venue_id, toStartOfMinute(event_time) AS minute, "
        "uniqExactState(event_id) AS scans FROM venue_scans GROUP BY venue_id, minute",
    ),
    "alerts_per_minute": (
        "rule String, grid String, minute DateTime('Asia/Shanghai'), "
        "alerts AggregateFunction(uniqExact, String)",
        "rule, grid, minute",
        "SELECT rule, grid, toStartOfMinute(event_time) AS minute, "
        "uniqExactState(alert_id) AS alerts FROM alerts GROUP BY rule, grid, minute",
    ),
}
"""Per-minute aggregate table: (columns, sorting key, the view's SELECT)."""

MIGRATIONS_TABLE: Final = "schema_migrations"
"""Where applied migrations are recorded (``sinks.migrations``)."""


def _create_table(table: str) -> str:
    time_column, key = _LAYOUT[table]
    columns = ", ".join(f"`{name}` {kind}" for name, kind in COLUMNS[table])
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ({columns}) "
        f"ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMMDD({time_column}) "
        f"ORDER BY ({key})"
    )


def _create_aggregate(name: str) -> tuple[str, str]:
    columns, key, select = AGGREGATES[name]
    table = (
        f"CREATE TABLE IF NOT EXISTS {name} ({columns}) "
        f"ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMMDD(minute) ORDER BY ({key})"
    )
    view = f"CREATE MATERIALIZED VIEW IF NOT EXISTS {name}_mv TO {name} AS {select}"
    return table, view


_V1_TABLES: Final = (
    "checkpoint_scans",
    "venue_scans",
    "patrol_events",
    "risk_areas",
    "venues",
    "alerts",
    "dead_letters",
)
"""The tables of migration 1 (later ones add theirs)."""


def create_statements() -> tuple[str, ...]:
    """The statements of migration 1: its tables, the aggregate tables and views.

    Each is ``IF NOT EXISTS``, so a migration cut short by a crash can run again.
    """
    statements = [_create_table(table) for table in _V1_TABLES]
    for name in AGGREGATES:
        statements.extend(_create_aggregate(name))
    return tuple(statements)


def alert_actions_statements() -> tuple[str, ...]:
    """The statement of migration 2: the console's alert actions (the audit trail).

    One row per record of the alert-state topic (``schemas.alert_state``), with
    its Kafka coordinates: two consoles acting on one version at once both
    write, and the topic's first (lowest offset) is the one applied
    (``streams.ops.console.lifecycle``).
    """
    return (_create_table("alert_actions"),)
