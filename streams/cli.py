"""The ``controlfeed`` command.

Entry point of every user-facing action. Settings are built here once and
passed down. A ``ControlfeedError`` (the one root of the project's errors,
``schemas.errors``: the rules', the stores', the stack's ... alike; a bad
``CONTROLFEED_*`` value becomes one too) is printed as a message and a hint
with exit status 2, never as a traceback.

Exit statuses: 0 success; 1 a check failed (smoke, status with a service
down); 2 a user or environment error that the message explains. A command
run with ``--json`` prints its errors as one JSON object on standard output
too (``{"error": ..., "hint": ...}``), so a script reading it always gets JSON.
"""

from __future__ import annotations

import json
import logging
import shlex
import sys
from collections.abc import Sequence
from typing import Any

import click
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from streams.alerts import alerts
from streams.console import console
from streams.console.command import serve
from streams.demo import SAMPLE, DemoResult, run_demo
from streams.exceptions import ControlfeedError
from streams.kafka.acls import PRINCIPALS
from streams.query import query
from streams.replay import replay
from streams.scenario.command import generate
from streams.settings import PROJECT_ROOT, Settings, unknown_variables
from streams.settings_errors import settings_error
from streams.smoke import SmokeResult, run_smoke
from streams.stack import SERVICE_NAMES, KafkaRelease, ServiceStatus, Stack
from streams.stack.kafka import KafkaService
from streams.status import status
from streams.topics import topics
from streams.validate import validate
from streams.worker.command import worker

__all__ = ["cli", "main"]

_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="controlfeed", prog_name="controlfeed")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """controlfeed: real-time epidemic-control feeds through Kafka, Faust and ClickHouse.

    Configuration comes from CONTROLFEED_* environment variables (see the README).
    """
    for name, near in unknown_variables():
        guess = f" (did you mean {near}?)" if near else ""
        _err.print(f"[yellow]warning:[/] {name} is not a controlfeed setting and is ignored{guess}")
    try:
        ctx.obj = Settings()
    except (ValidationError, SettingsError) as err:
        raise settings_error(err) from None


@cli.group()
def stack() -> None:
    """Run the local Kafka, ClickHouse, Alertmanager and Prometheus on 127.0.0.1."""


_services = click.argument("services", nargs=-1, type=click.Choice(SERVICE_NAMES))


@stack.command("up")
@_services
@click.pass_context
def stack_up(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Start the services (all by default) and wait until they are ready. Safe to repeat."""
    with _out.status("starting the stack (the first start fetches Kafka)..."):
        statuses = Stack(_settings(ctx), services or SERVICE_NAMES).up()
    _print_status(statuses)


@stack.command("down")
@_services
@click.pass_context
def stack_down(ctx: click.Context, services: tuple[str, ...]) -> None:
    """Stop the services this stack started; data is kept for the next start."""
    for name, was_running in Stack(_settings(ctx), services or SERVICE_NAMES).down():
        _out.print(f"{name}: {'stopped' if was_running else 'was not running (from this stack)'}")


@stack.command("status")
@_services
@click.option("--json", "as_json", is_flag=True, help="Print the states as JSON, for scripts.")
@click.pass_context
def stack_status(ctx: click.Context, services: tuple[str, ...], as_json: bool) -> None:
    """Show each service's state, address, pid and log; exit 1 unless all are healthy."""
    statuses = Stack(_settings(ctx), services or SERVICE_NAMES).status()
    if as_json:
        click.echo(json.dumps([_status_json(s) for s in statuses]))
    else:
        _print_status(statuses)
    if not all(s.healthy for s in statuses):
        sys.exit(1)


def _status_json(s: ServiceStatus) -> dict[str, Any]:
    return {"service": s.name, "state": str(s.state), "healthy": s.healthy,
            "address": s.address, "pid": s.pid, "log": str(s.log)}  # fmt: skip


@stack.command("env")
@click.argument("principal", type=click.Choice(PRINCIPALS))
@click.pass_context
def stack_env(ctx: click.Context, principal: str) -> None:
    """The variables that make a client PRINCIPAL of the local secure broker
    (CONTROLFEED_STACK_SECURE=true): `eval "$(controlfeed stack env worker)"`."""
    settings = _settings(ctx)
    if not settings.stack_secure:
        raise ControlfeedError(
            "the local broker is not secured: it needs no credentials",
            hint="Start it with CONTROLFEED_STACK_SECURE=true (docs/security.md).",
        )
    secrets = KafkaService(settings).secrets
    if not secrets.password_file(principal).is_file():
        raise ControlfeedError(
            f"no credentials under {secrets.credentials} yet",
            hint="Start the secure broker first: CONTROLFEED_STACK_SECURE=true "
            "controlfeed stack up kafka.",
        )
    for name, value in secrets.client_env(principal).items():  # a file, never the password
        click.echo(f"export {name}={shlex.quote(value)}")


@stack.command("fetch")
@click.pass_context
def stack_fetch(ctx: click.Context) -> None:
    """Download the pinned Kafka release into the cache (no-op when cached)."""
    release = KafkaRelease(_settings(ctx))
    with _out.status(f"fetching Kafka {release.version} with Maven..."):
        fetched = release.fetch()
    _out.print(
        f"Kafka {release.version} {'fetched into' if fetched else 'already in'} {release.home}"
    )


@cli.command()
@click.pass_context
def smoke(ctx: click.Context) -> None:
    """A few events through Kafka, a table in ClickHouse, a query to Prometheus."""
    if not _print_smoke(run_smoke(_settings(ctx))):
        sys.exit(1)


@cli.command()
@click.option(
    "--console",
    "with_console",
    is_flag=True,
    help="Then serve the operators' console on the run's alerts until Ctrl-C.",
)
@click.pass_context
def demo(ctx: click.Context, with_console: bool) -> None:
    """The main job: stack up, smoke pass, then the sample scenario through a worker."""
    settings = _settings(ctx)
    with _out.status("starting the stack (the first start fetches Kafka)..."):
        statuses = Stack(settings).up()
    _print_status(statuses)
    ok = _print_smoke(run_smoke(settings))
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


# Commands that live in their own modules are registered here, one line each.
cli.add_command(alerts)
cli.add_command(console)
cli.add_command(generate)
cli.add_command(query)
cli.add_command(replay)
cli.add_command(status)
cli.add_command(topics)
cli.add_command(validate)
cli.add_command(worker)


def _print_status(statuses: Sequence[ServiceStatus]) -> None:
    table = Table(title="controlfeed stack", title_justify="left")
    for column in ("service", "state", "address", "pid"):
        table.add_column(column)
    for s in statuses:
        colour = "green" if s.healthy else "red"
        table.add_row(s.name, f"[{colour}]{s.state}[/]", s.address, str(s.pid or "-"))
    _out.print(table)
    _out.print("logs:")
    width = max((len(s.name) for s in statuses), default=0)
    for s in statuses:  # outside the table: a path must never be cut to fit the terminal
        _out.print(f"  {s.name:<{width}}  {s.log}", soft_wrap=True)


def _print_smoke(results: Sequence[SmokeResult]) -> bool:
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


def _json_requested(args: Sequence[str]) -> bool:
    """Whether ``args`` run a command that has ``--json`` with ``--json`` given."""
    words = list(args)[: list(args).index("--")] if "--" in args else list(args)
    command: click.Command = cli
    for word in words:
        if not isinstance(command, click.Group):
            break
        command = command.get_command(click.Context(cli), word) or command
    return "--json" in words and any("--json" in p.opts for p in command.params)


def _fail(err: ControlfeedError | click.ClickException, as_json: bool) -> None:
    """Print ``err`` (as JSON on stdout when ``as_json``) and exit with its status."""
    if isinstance(err, click.ClickException):
        message, hint, status = err.format_message(), "", err.exit_code
    else:
        message, hint, status = str(err), err.hint, 2
    if as_json:
        click.echo(json.dumps({"error": message, "hint": hint}, ensure_ascii=False))
    elif isinstance(err, click.ClickException):
        err.show()
    else:
        _err.print(f"[red]error:[/] {escape(message)}")
        if hint:
            _err.print(f"[yellow]what to do:[/] {escape(hint)}")
    sys.exit(status)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the CLI, turning user errors into messages.

    clickhouse-driver logs each failed connection with a traceback (through
    Python's last-resort handler when nothing configured logging): its logger is
    silenced here, and our error says what failed. The worker sets its own level.
    """
    logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL + 1)
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        cli.main(args=args, prog_name="controlfeed", standalone_mode=False)
    except click.exceptions.Abort:
        _err.print("aborted")
        sys.exit(130)
    except (ControlfeedError, click.ClickException) as err:
        _fail(err, _json_requested(args))
