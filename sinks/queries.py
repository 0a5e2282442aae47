"""The operators' queries (``docs/storage.md``), as SQL that runs on 18.16 and chDB.

Used by the docs (which show them verbatim; a test compares) and the tests,
which run each on both stores. The thresholds a query needs (the venue types
that must take temperatures, the medicines to register) are parameters: the
caller passes the loaded rules configuration's values (``sinks`` never reads
``rules``), so a query answers with the thresholds the worker runs with.
Every query reads the replacing tables through ``FINAL`` and the per-minute
aggregates through ``uniqExactMerge``, so a batch stored twice never counts
twice. "Today" and "this week" are days of China Standard Time; weeks start
on Monday.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

__all__ = [
    "ALERTS_PER_RULE_AND_GRID_TODAY",
    "ALERT_HISTORY_COLUMNS",
    "ALERT_TRAIL",
    "EVIDENCE_TABLES",
    "SCANS_PER_CHECKPOINT_PER_HOUR_TODAY",
    "AlertFilter",
    "alert_history_sql",
    "evidence_sql",
    "operator_queries",
    "venue_failures_sql",
]

ALERTS_PER_RULE_AND_GRID_TODAY: Final = """\
SELECT rule, grid, uniqExactMerge(alerts) AS alerts
FROM alerts_per_minute
WHERE toYYYYMMDD(minute) = toYYYYMMDD(now(), 'Asia/Shanghai')
GROUP BY rule, grid
ORDER BY alerts DESC, rule, grid"""
"""Alerts per rule and grid since midnight (``grid`` is ``''`` when unknown)."""

ALERT_TRAIL: Final = """\
SELECT version, action, actor, status, assignee, at, note
FROM alert_actions FINAL
WHERE alert_id = '{alert_id}'
ORDER BY version, kafka_offset
LIMIT 1 BY version"""
"""One alert's audit trail (``.format(alert_id=...)``, 32 hex digits only): per version the
record the alert-state topic holds first, which is the one every console applied (two
consoles acting at once both write; ``streams.ops.console.lifecycle``)."""

SCANS_PER_CHECKPOINT_PER_HOUR_TODAY: Final = """\
SELECT checkpoint_id, toStartOfHour(minute) AS hour, uniqExactMerge(scans) AS scans
FROM checkpoint_scans_per_minute
WHERE toYYYYMMDD(minute) = toYYYYMMDD(now(), 'Asia/Shanghai')
GROUP BY checkpoint_id, hour
ORDER BY hour, checkpoint_id"""
"""Checkpoint scans (both directions) per checkpoint and hour, today."""


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _list(values: Iterable[str]) -> str:
    return ", ".join(_quoted(v) for v in values)


def venue_failures_sql(
    temperature_required_types: Iterable[str], medicine_categories: Iterable[str], limit: int = 20
) -> str:
    """The venues with most failing scans this week, for the given thresholds (the
    ``temperature_required_types`` and ``medicine_categories`` of the rules configuration,
    in its order).

    A failing scan mirrors ``rules.venues.is_failing_scan`` (``docs/rules.md``,
    "Failing scan"): at a venue whose type requires temperatures, the
    temperature was not taken, or a staff member wore no mask (not observed
    is no failure), or an unregistered purchase of a listed medicine; a scan
    counts once. One difference: the venue's type is its current one in the
    register, not the one in force at the scan's time (18.16 has no
    ``ASOF JOIN``).
    """
    # The lists are quoted by _list and the limit is an int: nothing else is interpolated.
    return f"""\
SELECT venue_id, name, type, grid, count() AS failing_scans
FROM (
    SELECT venue_id, temperature_c, role, mask, purchase_category, purchase_registered
    FROM venue_scans FINAL
    WHERE toMonday(event_time) = toMonday(now(), 'Asia/Shanghai')
) AS s
ALL INNER JOIN (
    SELECT venue_id, argMax(name, event_time) AS name, argMax(type, event_time) AS type,
        argMax(grid, event_time) AS grid
    FROM venues FINAL
    GROUP BY venue_id
) AS v USING venue_id
WHERE type IN ({_list(temperature_required_types)})
    AND (isNull(temperature_c)
        OR (role = 'staff' AND mask = 0)
        OR (purchase_category IN ({_list(medicine_categories)}) AND purchase_registered = 0))
GROUP BY venue_id, name, type, grid
ORDER BY failing_scans DESC, venue_id
LIMIT {int(limit)}"""  # noqa: S608


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which stored alerts ``alert_history_sql`` finds; every part optional, all must match."""

    alert_ids: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    """Current status: of the highest version, the record the alert-state topic holds first
    (as in ``ALERT_TRAIL``); ``new`` when no action is stored."""
    grids: tuple[str, ...] = ()
    """``''`` stands for an unknown grid."""
    place: str | None = None
    """A venue, checkpoint, site or incident id."""
    since: datetime | None = None
    """Event time at or after (aware)."""
    until: datetime | None = None
    """Event time before (aware)."""
    text: str | None = None
    """Found, ignoring case, in the message, rule, ids, grid or masked person."""


ALERT_HISTORY_COLUMNS: Final[tuple[str, ...]] = (
    "alert_id", "schema_version", "rule", "severity", "subject", "event_time", "event_ms",
    "evidence", "checkpoint_id", "venue_id", "site_id", "incident_id", "grid", "person_key",
    "person_masked", "message",
)  # fmt: skip
"""The ``alerts`` columns ``alert_history_sql`` returns, in order, before its own three:
``status``, ``version`` and ``assignee``."""


def _ms_of(time: datetime) -> int:
    return int(time.timestamp()) * 1000 + time.microsecond // 1000


def alert_history_sql(where: AlertFilter, limit: int, offset: int = 0) -> tuple[str, str]:
    """(the count, one page) of the stored alerts matching ``where``, newest event first.

    Called by the console (``GET /api/history``) for alerts older than its memory holds
    and by the tests on both stores. Each page row is ``ALERT_HISTORY_COLUMNS`` then the
    current ``status``, ``version`` (0 when no action is stored) and ``assignee``. Every
    value is quoted by ``_quoted`` or is an int: nothing else is interpolated.
    """
    alert_terms: list[str] = []
    for column, values in (("alert_id", where.alert_ids), ("rule", where.rules),
                           ("severity", where.severities), ("grid", where.grids)):  # fmt: skip
        if values:
            alert_terms.append(f"{column} IN ({_list(values)})")
    if where.place:
        place = _quoted(where.place)
        alert_terms.append(
            f"(checkpoint_id = {place} OR venue_id = {place} OR site_id = {place} "
            f"OR incident_id = {place})"
        )
    stamp = "(toUInt64(toUnixTimestamp(event_time)) * 1000 + event_ms)"
    if where.since is not None:
        alert_terms.append(f"{stamp} >= {_ms_of(where.since)}")
    if where.until is not None:
        alert_terms.append(f"{stamp} < {_ms_of(where.until)}")
    if where.text:
        text = _quoted(where.text)
        alert_terms.append("(" + " OR ".join(
            f"positionCaseInsensitiveUTF8({column}, {text}) > 0"
            for column in ("message", "rule", "alert_id", "checkpoint_id", "venue_id",
                           "site_id", "incident_id", "grid", "person_masked")
        ) + ")")  # fmt: skip
    status_terms = [f"status IN ({_list(where.statuses)})"] if where.statuses else []
    alert_where = " AND ".join(alert_terms) or "1"
    status_where = " AND ".join(status_terms) or "1"
    columns = ", ".join(f"a.{c} AS {c}" for c in ALERT_HISTORY_COLUMNS)
    body = f"""\
FROM (
    SELECT {", ".join(ALERT_HISTORY_COLUMNS)} FROM alerts FINAL WHERE {alert_where}
) AS a
LEFT JOIN (
    SELECT alert_id, max(version) AS last_version,
        argMax(status, (version, -toInt64(kafka_offset))) AS last_status,
        argMax(assignee, (version, -toInt64(kafka_offset))) AS last_assignee
    FROM alert_actions FINAL
    GROUP BY alert_id
) AS s ON a.alert_id = s.alert_id"""  # noqa: S608 (quoted above)
    current = "if(s.last_version = 0, 'new', s.last_status)"
    count = f"""\
SELECT count() FROM (
SELECT {current} AS status
{body}
) WHERE {status_where}"""  # noqa: S608
    page = f"""\
SELECT * FROM (
SELECT {columns}, {current} AS status, s.last_version AS version, s.last_assignee AS assignee
{body}
) WHERE {status_where}
ORDER BY event_time DESC, event_ms DESC, alert_id
LIMIT {int(limit)} OFFSET {int(offset)}"""  # noqa: S608
    return count, page


EVIDENCE_TABLES: Final[tuple[str, ...]] = ("checkpoint_scans", "venue_scans", "patrol_events")
"""The tables an alert's evidence events are stored in."""


def evidence_sql(table: str, event_ids: Iterable[str]) -> str:
    """The rows of ``table`` (one of ``EVIDENCE_TABLES``) with these event ids, by time;
    the console's detail view runs it per table. The ids are quoted by ``_list``."""
    if table not in EVIDENCE_TABLES:
        raise ValueError(f"not an event table: {table!r}")
    return (
        f"SELECT * FROM {table} FINAL WHERE event_id IN ({_list(event_ids)}) "  # noqa: S608
        "ORDER BY event_time, event_id"
    )


def operator_queries(
    temperature_required_types: Iterable[str], medicine_categories: Iterable[str]
) -> dict[str, str]:
    """The queries of ``docs/storage.md`` by title, for the given thresholds (see
    ``venue_failures_sql``; the docs show them with the defaults). Called by the tests,
    which pass the rules configuration's values."""
    return {
        "alerts per rule and grid today": ALERTS_PER_RULE_AND_GRID_TODAY,
        "scans per checkpoint per hour today": SCANS_PER_CHECKPOINT_PER_HOUR_TODAY,
        "venues with most protocol failures this week": venue_failures_sql(
            temperature_required_types, medicine_categories
        ),
    }
