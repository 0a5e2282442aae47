"""Versioned schema migrations, applied at start-up and recorded in the store.

Called by the worker before it stores anything, and by tests; ``controlfeed
query`` does not migrate. ``MIGRATIONS`` is append-only: a released
migration is never edited, a change is a new version. Each statement is
idempotent (``IF NOT EXISTS``) so a migration cut short (a crash between its
statements) simply runs again; a version is recorded once all its statements
succeeded. ``migrate`` twice changes nothing the second time. Two processes
migrating at once may both run a version: harmless for the same reason, and
the record table (a ``ReplacingMergeTree`` read with ``FINAL``) keeps one
row per version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sinks.ddl import MIGRATIONS_TABLE, alert_actions_statements, create_statements
from sinks.store import Store

__all__ = ["MIGRATIONS", "Migration", "applied_versions", "migrate"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One version of the schema."""

    version: int
    """Its number: 1, 2, ...; applied in order."""
    name: str
    """What it does, in a few words."""
    statements: tuple[str, ...]
    """The DDL it runs, each idempotent, in order."""


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "tables per feed, alerts, dead letters, per-minute aggregates",
        create_statements(),
    ),
    Migration(2, "the console's alert actions (audit trail)", alert_actions_statements()),
)
"""Every migration, in version order; append only."""

_RECORD_TABLE: Final = (
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
    "(version UInt32, name String, applied_at DateTime('UTC')) "
    "ENGINE = ReplacingMergeTree() ORDER BY version"
)


def applied_versions(store: Store) -> set[int]:
    """The versions recorded in the store (empty when it was never migrated).

    Raises ``sinks.exceptions.SinkError`` like any store call.
    """
    store.execute(_RECORD_TABLE)
    result = store.query(f"SELECT version FROM {MIGRATIONS_TABLE} FINAL")  # noqa: S608 (a constant)
    return {int(row[0]) for row in result.rows}


def migrate(store: Store, *, now: datetime | None = None) -> list[int]:
    """Apply the migrations the store lacks, in order; returns the versions applied now.

    Raises ``sinks.exceptions.SinkError`` when a statement fails; the versions
    applied before it stay recorded, and the next call resumes from there.
    """
    done = applied_versions(store)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements:
            store.execute(statement)
        stamp = int((now or datetime.now(UTC)).timestamp())
        name = migration.name.replace("\\", "\\\\").replace("'", "\\'")
        store.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) "
            f"SELECT {migration.version}, '{name}', toDateTime({stamp}, 'UTC')"
        )
        applied.append(migration.version)
    return applied
