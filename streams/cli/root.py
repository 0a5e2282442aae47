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
import sys
from collections.abc import Sequence

import click
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

from streams.cli.alerts import alerts
from streams.cli.console import console
from streams.cli.demo import demo
from streams.cli.generate import generate
from streams.cli.query import query
from streams.cli.replay import replay
from streams.cli.smoke import smoke
from streams.cli.stack import stack
from streams.cli.status import status
from streams.cli.topics import topics
from streams.cli.validate import validate
from streams.cli.worker import worker
from streams.exceptions import ControlfeedError
from streams.settings import Settings, unknown_variables
from streams.settings_errors import settings_error

__all__ = ["cli", "main"]

_err = Console(stderr=True, highlight=False)


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


# Every command lives in a module of its own here (streams/cli/<command>.py) and
# is registered here, one line each.
for _command in (alerts, console, demo, generate, query, replay, smoke, stack, status, topics,
                 validate, worker):  # fmt: skip
    cli.add_command(_command)


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
