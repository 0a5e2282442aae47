"""The ``Store`` interface and its ``QueryResult``: what every store implementation offers.

A store is where the sink's tables live: a ClickHouse server
(``sinks.server.ServerStore``, clickhouse-driver over the native protocol) or
chDB, current ClickHouse in-process under a local path
(``sinks.embedded.ChdbStore``). Both run the same DDL and queries; both import
this module, and it imports neither: ``sinks.factory.open_store`` picks one.

Callers: the worker's storage loop (``insert`` through a ``Batcher``,
``migrate`` and ``drop_old_partitions`` at start and on a timer) and the
``controlfeed query`` command (``query``). A store is used from one thread at
a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["QueryResult", "Store"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The answer of ``Store.query``: column names and types, and the rows."""

    names: tuple[str, ...]
    """Column names, in order."""
    types: tuple[str, ...]
    """ClickHouse type of each column, e.g. ``DateTime('Asia/Shanghai')``."""
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    """The rows as Python values: ``int``, ``float``, ``str``, ``None``, lists,
    ``datetime`` (aware when the column names a time zone)."""


class Store(Protocol):
    """What the sink needs from ClickHouse; see the module docstring for callers.

    Every method raises ``sinks.exceptions.StoreUnavailableError`` when the store
    cannot be reached (retry later) and ``QueryError`` when it rejects the
    statement (retrying will not help).
    """

    @property
    def description(self) -> str:
        """Where the data is, for messages: a URL without password, or a path."""
        ...

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing (DDL, ``ALTER``)."""
        ...

    def query(self, sql: str) -> QueryResult:
        """Run a statement and return its result, whole."""
        ...

    def insert(self, table: str, columns: Sequence[Sequence[Any]]) -> None:
        """Insert rows into one of the sink's tables (``sinks.ddl.COLUMNS``), in one block.

        ``columns`` holds one sequence per column of the table, in the order of
        ``COLUMNS[table]``, all of the same length (columnar form). Times are
        epoch seconds (``int``). Either the whole block is stored or an error is
        raised; a block stored twice leaves no duplicate visible through ``FINAL``.
        """
        ...

    def close(self) -> None:
        """Release the connection (and, for chDB, the data path). Safe to repeat."""
        ...
