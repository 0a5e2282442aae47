"""The operators' queries (``docs/storage.md``), as SQL that runs on 18.16 and chDB.

Used by the docs (which show them verbatim; a test compares) and the tests,
which run each on both stores. Every query reads the replacing tables through
``FINAL`` and the per-minute aggregates through ``uniqExactMerge``, so a batch
stored twice never counts twice. "Today" and "this week" are days of China
Standard Time; weeks start on Monday.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = [
    "ALERTS_PER_RULE_AND_GRID_TODAY",
    "ALERT_TRAIL",
    "MEDICINE_CATEGORIES",
    "OPERATOR_QUERIES",
    "SCANS_PER_CHECKPOINT_PER_HOUR_TODAY",
    "TEMPERATURE_REQUIRED_TYPES",
    "VENUES_WITH_MOST_PROTOCOL_FAILURES_THIS_WEEK",
    "venue_failures_sql",
]

TEMPERATURE_REQUIRED_TYPES: Final[tuple[str, ...]] = (
    "pharmacy",
    "restaurant",
    "hotel",
    "bus_station",
    "mall",
    "supermarket",
)
"""``temperature_required_types`` of ``rules/defaults.toml`` (a test checks they agree)."""
MEDICINE_CATEGORIES: Final[tuple[str, ...]] = ("fever", "cough", "antiviral", "antibiotic")
"""``medicine_categories`` of ``rules/defaults.toml`` (a test checks they agree)."""

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
consoles acting at once both write; ``streams.console.lifecycle``)."""

SCANS_PER_CHECKPOINT_PER_HOUR_TODAY: Final = """\
SELECT checkpoint_id, toStartOfHour(minute) AS hour, uniqExactMerge(scans) AS scans
FROM checkpoint_scans_per_minute
WHERE toYYYYMMDD(minute) = toYYYYMMDD(now(), 'Asia/Shanghai')
GROUP BY checkpoint_id, hour
ORDER BY hour, checkpoint_id"""
"""Checkpoint scans (both directions) per checkpoint and hour, today."""


def _list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)


def venue_failures_sql(
    temperature_required_types: Iterable[str] = TEMPERATURE_REQUIRED_TYPES,
    medicine_categories: Iterable[str] = MEDICINE_CATEGORIES,
    limit: int = 20,
) -> str:
    """The venues with most failing scans this week, for the given thresholds.

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


VENUES_WITH_MOST_PROTOCOL_FAILURES_THIS_WEEK: Final = venue_failures_sql()
"""The 20 venues with most failing scans since Monday, with the default thresholds."""

OPERATOR_QUERIES: Final[dict[str, str]] = {
    "alerts per rule and grid today": ALERTS_PER_RULE_AND_GRID_TODAY,
    "scans per checkpoint per hour today": SCANS_PER_CHECKPOINT_PER_HOUR_TODAY,
    "venues with most protocol failures this week": VENUES_WITH_MOST_PROTOCOL_FAILURES_THIS_WEEK,
}
"""The queries of ``docs/storage.md``, by title."""
