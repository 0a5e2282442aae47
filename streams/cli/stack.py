"""``controlfeed stack``: the local Kafka, ClickHouse, Alertmanager and Prometheus.

Thin: starting, stopping and probing the services is ``streams.devtools.stack``;
this module prints their states (``print_status``, shared with ``demo``).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from streams.devtools.stack import SERVICE_NAMES, KafkaRelease, ServiceStatus, Stack
from streams.devtools.stack.kafka import KafkaService
from streams.exceptions import ControlfeedError
from streams.kafka.acls import PRINCIPALS
from streams.settings import Settings

__all__ = ["bring_up", "print_status", "stack"]

_out = Console(highlight=False)


@click.group()
def stack() -> None:
    """Run the local Kafka, ClickHouse, Alertmanager and Prometheus on 127.0.0.1."""


_services = click.argument("services", nargs=-1, type=click.Choice(SERVICE_NAMES))


@stack.command("up")
@_services
@click.pass_obj
def stack_up(settings: Settings, services: tuple[str, ...]) -> None:
    """Start the services (all by default) and wait until they are ready. Safe to repeat."""
    bring_up(settings, services or SERVICE_NAMES)


def bring_up(settings: Settings, services: tuple[str, ...] = SERVICE_NAMES) -> None:
    """Start ``services`` under a spinner and print their table (``stack up``, ``demo``)."""
    with _out.status("starting the stack (the first start fetches Kafka)..."):
        statuses = Stack(settings, services).up()
    print_status(statuses)


@stack.command("down")
@_services
@click.pass_obj
def stack_down(settings: Settings, services: tuple[str, ...]) -> None:
    """Stop the services this stack started; data is kept for the next start."""
    for name, was_running in Stack(settings, services or SERVICE_NAMES).down():
        _out.print(f"{name}: {'stopped' if was_running else 'was not running (from this stack)'}")


@stack.command("status")
@_services
@click.option("--json", "as_json", is_flag=True, help="Print the states as JSON, for scripts.")
@click.pass_obj
def stack_status(settings: Settings, services: tuple[str, ...], as_json: bool) -> None:
    """Show each service's state, address, pid and log; exit 1 unless all are healthy."""
    statuses = Stack(settings, services or SERVICE_NAMES).status()
    if as_json:
        click.echo(json.dumps([_status_json(s) for s in statuses]))
    else:
        print_status(statuses)
    if not all(s.healthy for s in statuses):
        sys.exit(1)


def _status_json(s: ServiceStatus) -> dict[str, Any]:
    return {"service": s.name, "state": str(s.state), "healthy": s.healthy,
            "address": s.address, "pid": s.pid, "log": str(s.log)}  # fmt: skip


@stack.command("env")
@click.argument("principal", type=click.Choice(PRINCIPALS))
@click.pass_obj
def stack_env(settings: Settings, principal: str) -> None:
    """The variables that make a client PRINCIPAL of the local secure broker
    (CONTROLFEED_STACK_SECURE=true): `eval "$(controlfeed stack env worker)"`."""
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
@click.pass_obj
def stack_fetch(settings: Settings) -> None:
    """Download the pinned Kafka release into the cache (no-op when cached)."""
    release = KafkaRelease(settings)
    with _out.status(f"fetching Kafka {release.version} with Maven..."):
        fetched = release.fetch()
    _out.print(
        f"Kafka {release.version} {'fetched into' if fetched else 'already in'} {release.home}"
    )


def print_status(statuses: Sequence[ServiceStatus]) -> None:
    """The services' table and their logs (``stack up``/``status``, ``demo``)."""
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
