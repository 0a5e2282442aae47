"""Retention: drop whole days older than the retention period.

Called by the worker at start and then about once an hour, and by tests.
Partitions are days of China Standard Time (``toYYYYMMDD`` of the row's time,
``sinks.ddl``); they are found in ``system.parts`` and dropped with ``ALTER
TABLE ... DROP PARTITION``, which works on ClickHouse 18.16 and current
releases (``TTL`` does not exist on 18.16). Days are counted back from the
newest day of the feed tables or from ``now``, whichever is earlier: the
stream's own clock, as everywhere in the pipeline, so a replayed historical
file keeps its days (a wall-clock cut-off would drop a 2022 scenario at
once), and an event dated in the future cannot make everything old. The reference tables
(``risk_areas``, ``venues``) are not touched: the current venue register may
date from long ago, and it holds no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sinks.ddl import AGGREGATES, EVENT_TABLES, TIME_ZONE
from sinks.store import Store

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "RETAINED_TABLES",
    "DroppedPartition",
    "cutoff_day",
    "drop_old_partitions",
    "newest_day",
]

DEFAULT_RETENTION_DAYS: Final = 28
"""Days of data kept by default, today included."""

RETAINED_TABLES: Final[tuple[str, ...]] = (*EVENT_TABLES, *AGGREGATES)
"""The tables retention applies to: events, alerts, dead letters and the aggregates."""


@dataclass(frozen=True, slots=True)
class DroppedPartition:
    """One day of one table, dropped."""

    table: str
    """The table."""
    day: int
    """The day, as ``YYYYMMDD``."""


def cutoff_day(days: int, now: datetime) -> int:
    """The oldest day kept, as ``YYYYMMDD``: today (China Standard Time) minus ``days - 1``."""
    if days < 1:
        raise ValueError("retention must keep at least one day")
    today = now.astimezone(ZoneInfo(TIME_ZONE)).date()
    oldest = today - timedelta(days=days - 1)
    return oldest.year * 10_000 + oldest.month * 100 + oldest.day


FEED_TABLES: Final[tuple[str, ...]] = ("checkpoint_scans", "venue_scans", "patrol_events")
"""The tables whose newest day is the stream's "today"."""


def newest_day(store: Store) -> int | None:
    """The newest day (``YYYYMMDD``) holding feed events, or None when there are none."""
    tables = ", ".join(f"'{table}'" for table in FEED_TABLES)
    found = store.query(
        "SELECT max(toUInt32(partition)) FROM system.parts "  # noqa: S608 (constant names)
        f"WHERE database = currentDatabase() AND active AND table IN ({tables})"
    )
    day = int(found.rows[0][0]) if found.rows and found.rows[0][0] is not None else 0
    return day or None


def _noon(day: int) -> datetime:
    """Noon of ``day`` (``YYYYMMDD``) in China Standard Time."""
    return datetime(day // 10_000, day // 100 % 100, day % 100, 12, tzinfo=ZoneInfo(TIME_ZONE))


def drop_old_partitions(
    store: Store, *, days: int = DEFAULT_RETENTION_DAYS, now: datetime
) -> list[DroppedPartition]:
    """Drop every day before the last ``days`` days (today included) from the retained tables.

    ``now`` is an aware datetime (the caller's clock); days count back from it or
    from ``newest_day``, whichever is earlier. Returns what was dropped;
    running it again drops nothing more. Raises ``sinks.exceptions.SinkError``
    like any store call; days dropped before the failure stay dropped.
    """
    keep_from = cutoff_day(days, now)
    newest = newest_day(store)
    if newest is not None:
        keep_from = min(keep_from, cutoff_day(days, _noon(newest)))
    tables = ", ".join(f"'{table}'" for table in RETAINED_TABLES)
    parts = store.query(
        "SELECT DISTINCT table, partition FROM system.parts "  # noqa: S608 (constant names)
        f"WHERE database = currentDatabase() AND active AND table IN ({tables}) "
        "ORDER BY table, partition"
    )
    dropped: list[DroppedPartition] = []
    for table, partition in parts.rows:
        day = int(partition)
        if day < keep_from:
            store.execute(f"ALTER TABLE {table} DROP PARTITION {day}")
            dropped.append(DroppedPartition(str(table), day))
    return dropped
