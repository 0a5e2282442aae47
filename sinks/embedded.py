"""``ChdbStore``: the sink's tables in chDB (current ClickHouse, in-process) under a path.

Chosen by ``sinks.factory.open_store`` when no server URL is configured, so the
pipeline stores everything without a ClickHouse install. chDB is an optional
extra (``pip install 'controlfeed[embedded]'``).

What chDB allows (4.4, engine 26.9; ``docs/storage.md``, "chDB"):

- **One process per data path.** The engine locks ``<path>/status``; a second
  process gets an error, here ``StoreBusyError``. A worker holding the path and
  ``controlfeed query`` cannot run at once: stop the worker, or configure a
  server.
- **One path per process.** Within a process every ``ChdbStore`` must use the
  same path until all are closed (chDB refuses a second path).
- **Inserts** go through ``send_insert`` as one Arrow IPC stream per block:
  about 5 times faster than ``JSONEachRow`` built in Python (measured in
  ``docs/storage.md``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from sinks.ddl import COLUMNS
from sinks.exceptions import (
    MissingDependencyError,
    QueryError,
    SinkError,
    StoreBusyError,
    StoreUnavailableError,
)
from sinks.store import QueryResult

__all__ = ["ChdbStore", "path_in_use"]

_INSTALL_HINT: Final = (
    "Install it with `pip install 'controlfeed[embedded]'` (about 530 MB), or set "
    "CONTROLFEED_CLICKHOUSE_URL to a ClickHouse server, e.g. clickhouse://127.0.0.1:9000/default."
)
_BUSY_HINT: Final = (
    "Only one process can open a chDB data path: stop the process holding it (a running "
    "`controlfeed worker`?) and try again, or configure a server with CONTROLFEED_CLICKHOUSE_URL."
)
_OPEN_HINT: Final = (
    "Check that the directory is writable and that this process has no other chDB path "
    "open, or configure a server with CONTROLFEED_CLICKHOUSE_URL."
)
_CLOSED_HINT: Final = (
    "The store was used after close(): a bug in its caller; please report it with the "
    "command that showed this."
)

_open_paths: dict[Path, int] = {}
"""Paths open in this process, with how many stores use each."""


def _import_chdb() -> Any:
    try:
        import chdb
    except ImportError as err:
        raise MissingDependencyError(
            "no ClickHouse server is configured and chDB (the embedded store) is not installed",
            hint=_INSTALL_HINT,
        ) from err
    return chdb


def path_in_use(path: Path) -> bool:
    """Whether another process holds the chDB data at ``path`` (its ``status`` file is locked).

    Called before opening a path, so that a busy path gives a clear error
    rather than the engine's. False when the path was never opened.
    """
    status = path / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _arrow_type(pa: Any, kind: str) -> Any:
    if kind.startswith("Nullable("):
        return _arrow_type(pa, kind[len("Nullable(") : -1])
    if kind.startswith("Array("):
        return pa.list_(_arrow_type(pa, kind[len("Array(") : -1]))
    if kind.startswith("DateTime"):
        return pa.uint32()
    simple = {
        "String": pa.string(),
        "UInt8": pa.uint8(),
        "UInt16": pa.uint16(),
        "UInt32": pa.uint32(),
        "UInt64": pa.uint64(),
        "Float64": pa.float64(),
    }
    return simple[kind]


class ChdbStore:
    """The sink's tables in chDB at ``path`` (created when missing).

    Raises ``MissingDependencyError`` when chDB is not installed, ``StoreBusyError``
    when another process holds ``path`` and ``StoreUnavailableError`` when chDB
    cannot open it (e.g. this process already has another path open).
    """

    def __init__(self, path: Path) -> None:
        self._chdb = _import_chdb()
        import pyarrow

        self._pa: Any = pyarrow
        self._path = path.resolve()
        if self._path not in _open_paths and path_in_use(self._path):
            raise StoreBusyError(
                f"the chDB store {self._path} is open in another process", _BUSY_HINT
            )
        self._path.mkdir(parents=True, exist_ok=True)
        try:
            self._conn: Any = self._chdb.connect(str(self._path))
        except RuntimeError as err:
            if path_in_use(self._path):
                raise StoreBusyError(
                    f"the chDB store {self._path} is open in another process", _BUSY_HINT
                ) from err
            raise StoreUnavailableError(
                f"chDB cannot open {self._path}: {err}", hint=_OPEN_HINT
            ) from err
        _open_paths[self._path] = _open_paths.get(self._path, 0) + 1
        self._schemas = {
            table: pyarrow.schema([(n, _arrow_type(pyarrow, k)) for n, k in columns])
            for table, columns in COLUMNS.items()
        }

    @property
    def description(self) -> str:
        """The data path."""
        return f"chDB at {self._path}"

    def _run(self, sql: str, fmt: str = "CSV") -> Any:
        if self._conn is None:
            raise SinkError(f"{self.description} is closed", hint=_CLOSED_HINT)
        try:
            return self._conn.query(sql, fmt)
        except RuntimeError as err:  # chdb.ChdbError is a RuntimeError
            raise QueryError(f"{self.description} refused: {err}", hint="Check the SQL.") from err

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing."""
        self._run(sql)

    def query(self, sql: str) -> QueryResult:
        """Run a statement; values are typed from the result's column types."""
        raw = self._run(sql, "JSONCompact").bytes()
        if not raw.strip():
            return QueryResult((), ())
        answer = json.loads(raw)
        names = tuple(str(m["name"]) for m in answer["meta"])
        types = tuple(str(m["type"]) for m in answer["meta"])
        convert = [_converter(kind) for kind in types]
        rows = [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in answer["data"]]
        return QueryResult(names, types, rows)

    def insert(self, table: str, columns: Sequence[Sequence[Any]]) -> None:
        """One INSERT of a whole block as an Arrow IPC stream (``Store.insert``)."""
        pa = self._pa
        schema = self._schemas[table]
        try:
            arrays = [
                pa.array(column, type=f.type) for column, f in zip(columns, schema, strict=True)
            ]
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as err:
            raise QueryError(
                f"rows for {table} do not fit its columns: {err}",
                hint="The rows and the table's columns (sinks/ddl.py) disagree: a bug in "
                "sinks/rows.py; please report it.",
            ) from err
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, schema) as writer:
            writer.write_batch(batch)
        names = ", ".join(f"`{f.name}`" for f in schema)
        if self._conn is None:
            raise SinkError(f"{self.description} is closed", hint=_CLOSED_HINT)
        try:
            with self._conn.send_insert(f"INSERT INTO {table} ({names})", "ArrowStream") as ins:
                ins.append(sink.getvalue().to_pybytes())
                ins.finish()
        except RuntimeError as err:
            raise QueryError(
                f"{self.description} refused rows for {table}: {err}",
                hint="Check that the table has the columns sinks/ddl.py declares (the worker "
                "creates and migrates the tables at start).",
            ) from err

    def close(self) -> None:
        """Close the connection; the path is free for other processes once every store closed."""
        if self._conn is None:
            return
        self._conn.close()
        self._conn = None
        left = _open_paths.get(self._path, 1) - 1
        if left:
            _open_paths[self._path] = left
        else:
            _open_paths.pop(self._path, None)


def _converter(kind: str) -> Any:
    """A function turning a JSONCompact value of type ``kind`` into a Python value."""
    inner = kind
    while inner.startswith(("Nullable(", "LowCardinality(")):
        inner = inner[inner.index("(") + 1 : -1]
    if inner.startswith("DateTime") and not inner.startswith("DateTime64"):
        zone = ZoneInfo(inner[len("DateTime('") : -2]) if "'" in inner else None

        def to_datetime(value: Any) -> Any:
            if value is None:
                return None
            parsed = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
            return parsed.replace(tzinfo=zone) if zone else parsed

        return to_datetime
    if inner == "Date":
        return lambda value: None if value is None else date.fromisoformat(value)
    if inner.startswith(("UInt64", "Int64", "UInt128", "Int128", "UInt256", "Int256")):
        return lambda value: None if value is None else int(value)
    return lambda value: value
