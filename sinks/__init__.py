"""Writers of events and alerts to ClickHouse; knows ``schemas``, never ``streams``.

The public surface the worker's storage loop and the CLI use:

- ``open_store(url, path)`` (``sinks.factory``): a ``ServerStore``
  (clickhouse-driver) when ``url`` is set, else a ``ChdbStore`` (chDB under
  ``path``); both are a ``Store`` (``sinks.store``, which imports neither).
- ``migrate(store)``: create or upgrade the tables, at start-up; idempotent.
- ``Batcher(store)``: ``add_event`` / ``add_alert`` / ``add_dead_letter``,
  ``due()``, ``flush()``; rows are kept when a flush fails. Or ``take()`` a
  ``Block`` and ``BlockWriter(stores).submit(block)`` it, several in flight.
- ``drop_old_partitions(store, days=28, now=...)``: retention.
- ``operator_queries(types, medicines)``: the documented operators' queries, for the
  rules configuration's thresholds (the caller passes them: ``sinks`` never reads ``rules``).

Errors are ``SinkError`` subclasses (``sinks.exceptions``), under the project's
root ``schemas.errors.ControlfeedError`` (message and hint); ``docs/storage.md``
explains the schema and the idempotence design.
"""

from sinks.batch import DEFAULT_MAX_AGE, DEFAULT_MAX_ROWS, Batcher, Block
from sinks.ddl import TABLES, TIME_ZONE
from sinks.exceptions import (
    MissingDependencyError,
    QueryError,
    SinkError,
    StoreBusyError,
    StoreUnavailableError,
)
from sinks.factory import open_store
from sinks.migrations import MIGRATIONS, Migration, migrate
from sinks.queries import operator_queries
from sinks.retention import DEFAULT_RETENTION_DAYS, DroppedPartition, drop_old_partitions
from sinks.rows import Row, alert_row, dead_letter_row, event_row
from sinks.store import QueryResult, Store
from sinks.writer import BlockWriter

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_RETENTION_DAYS",
    "MIGRATIONS",
    "TABLES",
    "TIME_ZONE",
    "Batcher",
    "Block",
    "BlockWriter",
    "DroppedPartition",
    "Migration",
    "MissingDependencyError",
    "QueryError",
    "QueryResult",
    "Row",
    "SinkError",
    "Store",
    "StoreBusyError",
    "StoreUnavailableError",
    "alert_row",
    "dead_letter_row",
    "drop_old_partitions",
    "event_row",
    "migrate",
    "open_store",
    "operator_queries",
]
