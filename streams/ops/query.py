"""``controlfeed query "SQL"``: run one query on the configured store and print the answer.

Registered in ``streams.cli``. The store is the one the worker writes:
the ClickHouse server of ``CONTROLFEED_CLICKHOUSE_URL`` when set, else chDB
under ``<CONTROLFEED_DATA_DIR>/chdb``. It reads: as the read-only user of
``CONTROLFEED_CLICKHOUSE_READ_URL`` when set (``streams.stores.reader``), and a
statement that changes the store (``INSERT``, ``CREATE``, ``DROP``, ``ALTER``,
... or several statements) is refused before it is sent unless ``--write`` is
given, which runs it as the writing user; the read-only user is the server's
own guard for the rest. Output is a
table (default), CSV with a header, or JSON lines (one object per row).
Bad SQL, an unreachable server, a chDB path held by a running worker or a
missing chDB install raise the store's ``SinkError`` (a ``ControlfeedError``)
with its hint (exit 2), never a traceback. The operators' queries are in ``docs/storage.md``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from typing import Any, Final

from sinks import QueryResult, SinkError
from streams import stores
from streams.exceptions import ControlfeedError
from streams.settings import Settings

__all__ = ["format_csv", "format_json_lines", "json_value", "run_query", "text_value"]


_WRITING: Final = frozenset({
    "alter", "attach", "backup", "create", "delete", "detach", "drop", "exchange", "grant",
    "insert", "kill", "move", "optimize", "rename", "replace", "restore", "revoke", "set",
    "system", "truncate", "undrop", "update", "use",
})  # fmt: skip
"""First words of statements that change the store or the session."""


def _changes(sql: str) -> bool:
    """Whether ``sql`` changes the store: a writing first word (comments skipped), or more
    than one statement. Anything else is sent, and the server answers (a typo included)."""
    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S).strip().lstrip("(").lower()
    words = text.split(None, 1)
    return (bool(words) and words[0] in _WRITING) or ";" in text.rstrip().rstrip(";")


def run_query(settings: Settings, sql: str, *, write: bool = False) -> QueryResult:
    """Run ``sql`` on the configured store; raises the store's ``SinkError`` as it is,
    but for an unknown table, whose hint says where the tables come from.

    Without ``write`` only a reading statement runs, as the reader (module docstring).
    """
    if not write and _changes(sql):
        raise ControlfeedError(
            "this statement changes the store, and `controlfeed query` only reads by default",
            hint="Add --write to run it as the writing user (CONTROLFEED_CLICKHOUSE_URL's).",
        )
    try:
        store = stores.writer(settings) if write else stores.reader(settings)
        try:
            return store.query(sql)
        finally:
            store.close()
    except SinkError as err:
        if "UNKNOWN_TABLE" not in str(err) and "doesn't exist" not in str(err):
            raise
        # Kept: a better hint than the store's "check the statement": where tables come from.
        raise ControlfeedError(
            str(err),
            hint="The tables are created when the worker starts (`controlfeed worker`); "
            "check the table name against docs/storage.md.",
        ) from err


def text_value(value: Any) -> str:
    """A stored value as the table and CSV formats print it (``NULL``, times to the second)."""
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def json_value(value: Any) -> Any:
    """A stored value as JSON can hold it: times in ISO 8601, arrays as lists (the
    ``json`` format here, the console's evidence and trails)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def format_csv(result: QueryResult) -> str:
    """The result as CSV with a header line; NULL is an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.names)
    for row in result.rows:
        writer.writerow("" if v is None else text_value(v) for v in row)
    return buffer.getvalue()


def format_json_lines(result: QueryResult) -> str:
    """The result as JSON lines: one object per row, times in ISO-8601 with offset."""
    lines = (
        json.dumps(dict(zip(result.names, map(json_value, row), strict=True)), ensure_ascii=False)
        for row in result.rows
    )
    return "".join(line + "\n" for line in lines)
