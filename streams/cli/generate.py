"""``controlfeed generate``: the click command over ``generate_to``.

Registered in ``streams.cli``. Options arrive as text and are parsed here so
that every bad value becomes a ``ScenarioError`` with a hint (exit status 2
through ``streams.cli.main``), never a traceback. Draws the shared progress bar
on a terminal and always prints a summary at the end (on stderr when the
events go to standard output, ``-``). An existing output or labels file is
kept unless ``--force``. ``--rules`` lays an operator's rules file over the
defaults, as ``CONTROLFEED_RULES_FILE`` does for the worker: the scenario and
its labels then follow its thresholds and places.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from rules import ConfigError, RulesConfig, load_config
from streams.devtools.scenario.engine import STDOUT, Summary, generate_to
from streams.devtools.scenario.options import (
    DEFAULT_START,
    ScenarioError,
    ScenarioOptions,
    format_duration,
    labels_path_for,
    parse_duration,
    parse_start,
)
from streams.progress import progress_bar

__all__ = ["generate", "print_summary"]

_DEFAULTS = ScenarioOptions()
F = TypeVar("F", bound=Callable[..., Any])


def _number(name: str, text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError as err:
        noun = "a whole number" if kind is int else "a number"
        raise ScenarioError(
            f"{name} {text!r} is not {noun}", hint=f"Write e.g. {name} 42."
        ) from err


def _options(values: dict[str, str]) -> ScenarioOptions:
    return ScenarioOptions(
        seed=int(_number("--seed", values["seed"], int)),
        start=parse_start(values["start"]),
        duration_s=parse_duration(values["duration"]),
        population=int(_number("--population", values["population"], int)),
        rate=_number("--rate", values["rate"], float),
        anomaly_rate=_number("--anomaly-rate", values["anomaly_rate"], float),
        malformed_rate=_number("--malformed-rate", values["malformed_rate"], float),
    )


def _rules(path: Path | None) -> RulesConfig | None:
    """The rules file laid over the defaults; None without one. ``ScenarioError`` when it
    cannot be used."""
    if path is None:
        return None
    try:
        return load_config(path)
    except ConfigError as err:
        raise ScenarioError(
            f"--rules: {err}",
            hint="Fix the file: it holds [thresholds], [engine] and [places.<id>] tables of "
            "the names in docs/rules.md and rules/defaults.toml.",
        ) from err


def _counts(title: str, counts: dict[str, int], unit: str = "") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(unit or "name")
    table.add_column("count", justify="right")
    for name, count in sorted(counts.items()):
        table.add_row(name, f"{count:,}")
    table.add_row("[bold]total[/]", f"[bold]{sum(counts.values()):,}[/]")
    return table


def print_summary(console: Console, summary: Summary) -> None:
    """The end-of-run report: counts per feed, rule and reason, files, rate."""
    console.print(_counts("events per feed", summary.events, "feed"))
    console.print(_counts("expected alerts per rule", summary.alerts, "rule/severity"))
    console.print(_counts("malformed lines per reason", summary.malformed, "reason"))
    out = "standard output" if summary.out == STDOUT else summary.out
    console.print(f"wrote {out} ({summary.lines:,} lines, {summary.bytes:,} bytes)", soft_wrap=True)
    console.print(f"labels {summary.labels or 'not written (no --labels)'}", soft_wrap=True)
    console.print(
        f"generated {summary.lines:,} lines in {summary.seconds:.2f} s: "
        f"{summary.lines_per_second:,.0f} lines/s, {summary.events_per_second:,.0f} events/s"
    )


def _option(name: str, metavar: str, default: object, text: str) -> Callable[[F], F]:
    return click.option(name, metavar=metavar, default=str(default), show_default=True, help=text)


def _refuse_overwrite(out: Path, labels: Path | None) -> None:
    """``ScenarioError`` when the event or labels file exists already (without --force)."""
    existing = [p for p in (out, labels) if p is not None and p != STDOUT and p.exists()]
    if existing:
        names = " and ".join(str(p) for p in existing)
        verb, them = ("exists", "it") if len(existing) == 1 else ("exist", "them")
        raise ScenarioError(
            f"{names} {verb} already",
            hint=f"Pass --force to overwrite {them}, or name another file (- writes to stdout).",
        )


@click.command()
@click.argument("out", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@_option("--seed", "INT", _DEFAULTS.seed, "Seeds every random choice.")
@_option("--start", "ISO8601", DEFAULT_START.isoformat(), "Time of the first record, with offset.")
@_option("--duration", "DURATION", format_duration(_DEFAULTS.duration_s), "90m, 26h, 2d, 1h30m.")
@_option("--population", "INT", _DEFAULTS.population, "People in the background.")
@_option("--rate", "FLOAT", _DEFAULTS.rate, "Average background scans per second.")
@_option("--anomaly-rate", "FLOAT", _DEFAULTS.anomaly_rate, "Injections per background scan.")
@_option("--malformed-rate", "FLOAT", _DEFAULTS.malformed_rate, "Share of lines that are bad.")
@click.option(
    "--labels",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the labels go [default: beside OUT as .labels.json; none with -].",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A rules file laid over the defaults (as CONTROLFEED_RULES_FILE for the worker).",
)
@click.option("--force", is_flag=True, help="Overwrite OUT and its labels if they exist.")
@click.option("--no-progress", is_flag=True, help="No progress bar (the summary comes anyway).")
def generate(
    out: Path,
    labels: Path | None,
    rules_file: Path | None,
    force: bool,
    no_progress: bool,
    **values: str,
) -> None:
    """Write a seeded scenario to OUT (.jsonl or .jsonl.gz; - for stdout) and its labels
    to OUT's .labels.json: background traffic of Yucheng district with labelled anomalies."""
    options = _options(values)
    rules = _rules(rules_file)
    if labels is None and out != STDOUT:
        labels = labels_path_for(out)
    if not force:
        _refuse_overwrite(out, labels)
    console = Console(highlight=False, stderr=out == STDOUT)
    if no_progress:
        summary = generate_to(out, options, labels=labels, rules=rules)
    else:
        with progress_bar(unit="lines") as bar:
            task = bar.add_task("generate", total=None)
            summary = generate_to(
                out,
                options,
                lambda done, total: bar.update(task, completed=done, total=total),
                labels,
                rules,
            )
            bar.update(task, completed=summary.lines, total=summary.lines)
    print_summary(console, summary)
