"""``controlfeed smoke``: a few events through each service of the stack.

Thin: the checks are ``streams.devtools.smoke``; ``print_smoke`` (shared with
``demo``) draws their table.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.devtools.smoke import SmokeResult, run_smoke
from streams.settings import Settings

__all__ = ["print_smoke", "smoke"]

_out = Console(highlight=False)


@click.command()
@click.pass_obj
def smoke(settings: Settings) -> None:
    """A few events through Kafka, a table in ClickHouse, a query to Prometheus."""
    if not print_smoke(run_smoke(settings)):
        sys.exit(1)


def print_smoke(results: Sequence[SmokeResult]) -> bool:
    """The smoke checks' table; whether all passed (``smoke``, ``demo``)."""
    table = Table(title="smoke pass", title_justify="left")
    for column in ("check", "result", "time", "detail"):
        table.add_column(column)
    for r in results:
        mark = "[green]ok[/]" if r.ok else "[red]FAILED[/]"
        table.add_row(r.check, mark, f"{r.seconds:.2f} s", escape(r.detail))
    _out.print(table)
    passed = sum(r.ok for r in results)
    _out.print(f"smoke: {passed} of {len(results)} checks passed")
    return passed == len(results)
