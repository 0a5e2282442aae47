"""``controlfeed demo``: the main job (stack up, smoke pass, the sample through a worker).

Thin: the run is ``streams.devtools.demo``; this module prints its results and,
with ``--console``, serves the operators' console on the run's alerts.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.cli.console import serve
from streams.cli.smoke import print_smoke
from streams.cli.stack import bring_up
from streams.devtools.demo import SAMPLE, DemoResult, run_demo
from streams.devtools.smoke import run_smoke
from streams.settings import PROJECT_ROOT, Settings

__all__ = ["demo"]

_out = Console(highlight=False)


@click.command()
@click.option(
    "--console",
    "with_console",
    is_flag=True,
    help="Then serve the operators' console on the run's alerts until Ctrl-C.",
)
@click.pass_obj
def demo(settings: Settings, with_console: bool) -> None:
    """The main job: stack up, smoke pass, then the sample scenario through a worker."""
    bring_up(settings)
    ok = print_smoke(run_smoke(settings))
    _out.print(
        f"\n[bold]The sample scenario[/] ({SAMPLE.relative_to(PROJECT_ROOT)}) through a worker "
        "on topics of this run, with a throwaway pseudonym key (--demo-key)."
    )
    status = _out.status("worker running; replaying the sample and waiting for its alerts...")
    shown: list[bool] = []

    def report(result: DemoResult, run: Settings) -> None:
        status.stop()
        shown.append(_print_demo(result))
        if with_console:
            _out.print(_CONSOLE, soft_wrap=True)
            users = run.data_dir / "console-users.json"
            serve(run.model_copy(update={"console_users_file": users}), demo_login=True,
                  say=lambda line: _out.print(f"[bold]{escape(line)}[/]"))  # fmt: skip
            _out.print("console stopped; deleting the run's topics")

    with status:
        run_demo(settings, then=report, on_server=with_console)
    ok = all(shown) and bool(shown) and ok
    if not with_console:
        _out.print(_WATCH_LIVE.format(sample=SAMPLE), soft_wrap=True)
    if not ok:
        sys.exit(1)


_CONSOLE = """
The operators' console on this run's alerts (Ctrl-C stops it and deletes the run's
topics). Open the URL below and log in with the demo login:"""


_WATCH_LIVE = """
The stack keeps running (`controlfeed stack status`, `controlfeed stack down`).
To watch alerts live:
  .venv/bin/controlfeed worker --demo-key                             # terminal 1
  .venv/bin/controlfeed alerts --follow                                # terminal 2
  .venv/bin/controlfeed replay {sample} --speed 600                    # terminal 3"""


def _print_demo(result: DemoResult) -> bool:
    table = Table(title="alerts per rule (distinct alert ids)", title_justify="left")
    for column in ("rule", "severity", "alerts", "labelled"):
        table.add_column(column, justify="right" if column in ("alerts", "labelled") else "left")
    for rule, severity in sorted(set(result.found) | set(result.expected)):
        found, want = result.found[(rule, severity)], result.expected[(rule, severity)]
        colour = "green" if found == want else "red"
        table.add_row(rule, severity, f"[{colour}]{found}[/]", str(want))
    _out.print(table)
    total, labelled = sum(result.found.values()), sum(result.expected.values())
    equal = result.found == result.expected
    verdict = "[green]equal to the labels[/]" if equal else "[red]differs from the labels[/]"
    _out.print(
        f"demo: {total} alerts, {labelled} labelled: {verdict} (worker log {result.worker_log})",
        soft_wrap=True,
    )
    rows = Table(title="the sample's events stored (rows through FINAL)", title_justify="left")
    for column in ("table", "rows", "valid events"):
        rows.add_column(column, justify="left" if column == "table" else "right")
    for name, want in result.valid.items():
        got = result.stored.get(name, 0)
        colour = "green" if got == want else "red"
        rows.add_row(name, f"[{colour}]{got:,}[/]", f"{want:,}")
    _out.print(rows)
    same = result.stored == result.valid
    verdict = "[green]each valid event once[/]" if same else "[red]not each valid event once[/]"
    _out.print(f"store: {result.store}: {verdict}", soft_wrap=True)
    query = '"SELECT rule, count() FROM alerts FINAL GROUP BY rule"'
    command = f"{result.query_prefix}.venv/bin/controlfeed query {query}"
    _out.print(f"query them: {command}", soft_wrap=True)
    return result.matches
