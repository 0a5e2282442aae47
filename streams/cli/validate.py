"""``controlfeed validate``: check event files against the feeds' contract.

Thin: the scan and its report are ``streams.devtools.validate``; this module
draws the report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from schemas import FEEDS
from streams.devtools.validate import (
    Report,
    validate_files,
)

__all__ = ["validate"]


def _counts_tables(report: Report) -> tuple[Table, Table]:
    feeds = Table(title="lines per feed", title_justify="left")
    for column in ("feed", "valid", "bad"):
        feeds.add_column(column, justify="left" if column == "feed" else "right")
    for feed in FEEDS:
        feeds.add_row(feed, f"{report.valid[feed]:,}", f"{report.bad_by_feed[feed]:,}")
    if report.bad_by_feed[None]:
        feeds.add_row("(feed unknown)", "-", f"{report.bad_by_feed[None]:,}")
    reasons = Table(title="bad lines per reason", title_justify="left")
    reasons.add_column("reason")
    reasons.add_column("lines", justify="right")
    for reason, count in report.reasons.most_common():
        reasons.add_row(reason, f"{count:,}")
    return feeds, reasons


def _print_report(out: Console, report: Report) -> None:
    feeds, reasons = _counts_tables(report)
    out.print(feeds)
    if report.bad:
        out.print(reasons)
    if report.bad_lines:
        out.print(f"first {len(report.bad_lines)} bad lines:")
    for bad in report.bad_lines:
        out.print(
            f"  {bad.file}:{bad.line}: {bad.reason} ({bad.detail})", markup=False, soft_wrap=True
        )
        out.print(f"    {bad.excerpt}", markup=False, soft_wrap=True)
    rate = f", {report.records / report.seconds:,.0f} lines/s" if report.seconds else ""
    out.print(
        f"validated {len(report.files)} file(s): {report.records:,} lines, "
        f"{sum(report.valid.values()):,} valid, {report.bad:,} bad, {report.blank:,} blank "
        f"in {report.seconds:.2f} s{rate}",
        markup=False,
        soft_wrap=True,
    )


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--bad-lines",
    "keep_bad",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many bad lines to print (0: none).",
)
@click.option("--report-only", is_flag=True, help="Exit 0 even when lines are bad.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON report.")
def validate(files: tuple[Path, ...], keep_bad: int, report_only: bool, as_json: bool) -> None:
    """Check event files (.jsonl, .jsonl.gz; - for standard input) against the feed
    contract.

    Prints counts per feed and per reason, then the first bad lines with their
    line numbers. Exits 1 when any line is bad (unless --report-only), 2 when a
    file cannot be read.
    """
    report = validate_files(files, keep_bad=keep_bad)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        _print_report(Console(highlight=False), report)
    if report.bad and not report_only:
        sys.exit(1)
