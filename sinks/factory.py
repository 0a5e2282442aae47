"""``open_store``: the configured ``Store``, a ClickHouse server or chDB under a path.

Sits above the two implementations (``sinks.server.ServerStore``,
``sinks.embedded.ChdbStore``), which know only ``sinks.store``'s interface:
so the interface never imports a backend and no module of ``sinks`` imports
one that imports it back. Re-exported as ``sinks.open_store``.

Callers: entry points, through ``streams.stores`` (the worker's sink,
``controlfeed query``, the console) or directly (the demo, tests,
benchmarks), with plain values from the settings: ``sinks`` never reads the
settings itself.
"""

from __future__ import annotations

from pathlib import Path

from sinks.embedded import ChdbStore
from sinks.server import ServerStore
from sinks.store import Store

__all__ = ["open_store"]


def open_store(url: str, path: Path, password: str | None = None) -> Store:
    """The configured store: a ClickHouse server when ``url`` is set, else chDB at ``path``.

    ``password`` is the server user's when the URL holds none (chDB has no users).

    Called with the settings' ``clickhouse_url`` (or ``clickhouse_read_url``)
    and ``data_dir / "chdb"``. Raises ``MissingDependencyError`` when chDB is
    needed and not installed, ``StoreBusyError`` when another process holds
    ``path``, and ``StoreUnavailableError`` when the server cannot be reached.
    """
    if url:
        return ServerStore(url, password=password)
    return ChdbStore(path)
