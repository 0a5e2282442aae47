"""Errors of the sinks package: what went wrong with a store, and whether to retry.

    ControlfeedError            (schemas.errors) ``str(err)`` says what went wrong,
    |                           ``err.hint`` what to do about it
    +-- SinkError               base of the sinks' errors
        +-- StoreUnavailableError   the store cannot be reached or is overloaded now;
        |   |                       the same call may succeed later (retry with backoff)
        |   +-- StoreBusyError      a chDB data path is held by another process
        +-- QueryError              the store rejected the statement (bad SQL, unknown
        |                           table); retrying the same call fails the same way
        +-- MissingDependencyError  chDB is not installed and no server URL is configured

Raised by ``sinks.store`` implementations, ``sinks.migrations`` and
``sinks.retention``; the ``Batcher`` lets them through with its rows kept.
They reach the CLI as they are (``streams.cli.main`` prints any
``ControlfeedError`` as message and hint); ``sinks`` never imports ``streams``.
"""

from __future__ import annotations

from schemas.errors import ControlfeedError

__all__ = [
    "MissingDependencyError",
    "QueryError",
    "SinkError",
    "StoreBusyError",
    "StoreUnavailableError",
]


class SinkError(ControlfeedError):
    """Base of every error of a store."""


class StoreUnavailableError(SinkError):
    """The store cannot be reached, or refused the work for now; retrying may succeed."""


class StoreBusyError(StoreUnavailableError):
    """A chDB data path is open in another process (only one process may hold it)."""


class QueryError(SinkError):
    """The store rejected a statement; the same statement will fail again."""


class MissingDependencyError(SinkError):
    """An optional dependency (chDB) is needed and not installed."""
