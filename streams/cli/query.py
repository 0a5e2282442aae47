"""``controlfeed query``: run one SQL statement on the store and print the rows.

Thin: the statement check, the store and the formats are ``streams.ops.query``.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sinks import QueryResult
from streams.ops.query import (
    format_csv,
    format_json_lines,
    run_query,
    text_value,
)
from streams.settings import Settings

__all__ = ["query"]

_out = Console(highlight=False)


def _print_table(result: QueryResult) -> None:
    table = Table(title_justify="left")
    for name, kind in zip(result.names, result.types, strict=True):
        numeric = kind.startswith(("UInt", "Int", "Float", "Decimal"))
        table.add_column(escape(name), justify="right" if numeric else "left")
    for row in result.rows:
        table.add_row(*(escape(text_value(v)) for v in row))
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
@click.option(
    "--write",
    is_flag=True,
    help="Allow a statement that changes the store (DDL, INSERT), as the writing user.",
)
@click.pass_context
def query(ctx: click.Context, sql: str, output: str, write: bool) -> None:
    """Run SQL on the store (the ClickHouse server, or chDB when none is configured).

    Read the tables through FINAL and the *_per_minute aggregates with
    uniqExactMerge; docs/storage.md lists the tables and the operators' queries.
    """
    settings: Settings = ctx.obj
    result = run_query(settings, sql, write=write)
    if output == "csv":
        click.echo(format_csv(result), nl=False)
    elif output == "json":
        click.echo(format_json_lines(result), nl=False)
    else:
        _print_table(result)
