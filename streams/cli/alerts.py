"""``controlfeed alerts``: show the alerts on the alerts topic, filtered, for operators.

Registered in ``streams.cli``. Reads ``settings.topic_alerts`` without
committing offsets (``streams.ops.alerts.reader``), keeps the alerts that pass
``--rule``/``--severity``/``--place``/``--since``/``--until``, and prints one
readable line each (or ``--json`` lines for scripts). Without ``--follow`` it
stops at the end of the topic as it was at start and prints a summary; with
it, Ctrl-C ends cleanly with a count. Records that are not valid alerts are
warned about on stderr and skipped. Bad options, a missing topic or an
unreachable broker raise ``ControlfeedError`` (exit 2).
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.console import Console
from rich.markup import escape

from streams.ops.alerts.reader import BadRecord, read_alerts
from streams.ops.alerts.view import (
    SEVERITIES,
    AlertFilter,
    Summary,
    format_line,
    parse_rules,
    parse_time,
)
from streams.settings import Settings

__all__ = ["alerts", "show_alerts"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def _build_filter(
    rules: tuple[str, ...], severity: str, place: str, since: str | None, until: str | None
) -> AlertFilter:
    now = datetime.now(UTC)
    return AlertFilter(
        rules=parse_rules(rules),
        min_severity=severity,
        place=place,
        since=parse_time(since, now) if since else None,
        until=parse_time(until, now) if until else None,
    )


def show_alerts(
    settings: Settings, chosen: AlertFilter, summary: Summary, *, follow: bool, as_json: bool
) -> None:
    """Print the matching alerts as they are read, counting them in ``summary``.

    Called by the ``alerts`` command. Invalid records become a warning line on
    stderr; an alert whose ``alert_id`` was shown already (a restarted worker
    repeats alerts with the same id) is counted, not shown again.
    ``KeyboardInterrupt`` propagates to the caller, which ends cleanly with
    the counts so far.
    """
    for item in read_alerts(settings, since=chosen.since, follow=follow):
        if isinstance(item, BadRecord):
            summary.invalid += 1
            _err.print(
                f"[yellow]warning:[/] skipped partition {item.partition} offset {item.offset}: "
                f"not a valid alert ({escape(item.reason)})",
                soft_wrap=True,
            )
        elif chosen.matches(item) and summary.first_time(item):
            summary.add(item)
            if as_json:
                click.echo(item.model_dump_json())
            else:
                _out.print(format_line(item), soft_wrap=True)


@click.command()
@click.option(
    "--since", metavar="TIME", help="Only alerts at or after TIME: 2h, 30m, 1d or ISO 8601."
)
@click.option("--until", metavar="TIME", help="Only alerts before TIME (same forms as --since).")
@click.option(
    "--rule", "rules", multiple=True, metavar="RULE", help="Only this rule id (repeatable)."
)
@click.option(
    "--severity",
    type=click.Choice(SEVERITIES, case_sensitive=False),
    default="info",
    show_default=True,
    help="Minimum severity: info < warning < critical.",
)
@click.option(
    "--place",
    default="",
    metavar="TEXT",
    help="Checkpoint/venue/site/incident id or grid containing TEXT.",
)
@click.option("--follow", "-f", is_flag=True, help="Keep showing new alerts until Ctrl-C.")
@click.option("--json", "as_json", is_flag=True, help="One JSON alert per line, for scripts.")
@click.pass_obj
def alerts(
    settings: Settings,
    since: str | None,
    until: str | None,
    rules: tuple[str, ...],
    severity: str,
    place: str,
    follow: bool,
    as_json: bool,
) -> None:
    """Show alerts from the alerts topic (from its beginning by default); commits no offsets."""
    chosen = _build_filter(rules, severity.lower(), place, since, until)
    summary = Summary()
    try:
        show_alerts(settings, chosen, summary, follow=follow, as_json=as_json)
    except KeyboardInterrupt:
        _err.print(f"stopped: {summary.line()}")
        return
    if not follow:
        (_err if as_json else _out).print(summary.line())
