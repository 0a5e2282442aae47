"""``controlfeed query "SQL"``: run one query on the configured store and print the answer.

Registered in ``streams.cli``. The store is the one the worker writes:
the ClickHouse server of ``CONTROLFEED_CLICKHOUSE_URL`` when set, else chDB
under ``<CONTROLFEED_DATA_DIR>/chdb`` (``sinks.open_store``). Output is a
table (default), CSV with a header, or JSON lines (one object per row).
Bad SQL, an unreachable server, a chDB path held by a running worker or a
missing chDB install raise ``ControlfeedError`` with a hint (exit 2), never
a traceback. The operators' queries are in ``docs/storage.md``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sinks import QueryResult, SinkError, open_store
from streams.exceptions import ControlfeedError
from streams.settings import Settings

__all__ = ["query", "run_query"]

_out = Console(highlight=False)


def run_query(settings: Settings, sql: str) -> QueryResult:
    """Run ``sql`` on the configured store; store errors become ``ControlfeedError``."""
    try:
        store = open_store(settings.clickhouse_url, settings.data_dir / "chdb")
        try:
            return store.query(sql)
        finally:
            store.close()
    except SinkError as err:
        hint = err.hint
        if "UNKNOWN_TABLE" in str(err) or "doesn't exist" in str(err):
            hint = (
                "The tables are created when the worker starts (`controlfeed worker`); "
                "check the table name against docs/storage.md."
            )
        raise ControlfeedError(str(err), hint=hint) from err


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def format_csv(result: QueryResult) -> str:
    """The result as CSV with a header line; NULL is an empty field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.names)
    for row in result.rows:
        writer.writerow("" if v is None else _text(v) for v in row)
    return buffer.getvalue()


def format_json_lines(result: QueryResult) -> str:
    """The result as JSON lines: one object per row, times in ISO-8601 with offset."""
    lines = (
        json.dumps(dict(zip(result.names, map(_json_value, row), strict=True)), ensure_ascii=False)
        for row in result.rows
    )
    return "".join(line + "\n" for line in lines)


def _print_table(result: QueryResult) -> None:
    table = Table(title_justify="left")
    for name, kind in zip(result.names, result.types, strict=True):
        numeric = kind.startswith(("UInt", "Int", "Float", "Decimal"))
        table.add_column(escape(name), justify="right" if numeric else "left")
    for row in result.rows:
        table.add_row(*(escape(_text(v)) for v in row))
    _out.print(table)
    _out.print(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}")


@click.command("query")
@click.argument("sql")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table for people, csv (with a header) or json (one object per line) for scripts.",
)
@click.pass_context
def query(ctx: click.Context, sql: str, output: str) -> None:
    """Run SQL on the store (the ClickHouse server, or chDB when none is configured).

    Read the tables through FINAL and the *_per_minute aggregates with
    uniqExactMerge; docs/storage.md lists the tables and the operators' queries.
    """
    settings: Settings = ctx.obj
    result = run_query(settings, sql)
    if output == "csv":
        click.echo(format_csv(result), nl=False)
    elif output == "json":
        click.echo(format_json_lines(result), nl=False)
    else:
        _print_table(result)
