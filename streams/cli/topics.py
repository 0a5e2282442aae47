"""``controlfeed topics``: create, list and show the ACLs of the pipeline's topics.

Thin: the declarations and the broker calls are ``streams.kafka.topics`` and
``streams.kafka.acls``; this module prints them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection

import click
from rich.console import Console
from rich.table import Table

from streams.kafka.clients import admin_client
from streams.kafka.topics import (
    TopicState,
    declare_topics,
    describe_topics,
)
from streams.settings import Settings

__all__ = ["topics"]

_out = Console(highlight=False)


def _print_states(states: list[TopicState], created: Collection[str] = ()) -> None:
    table = Table(title="controlfeed topics", title_justify="left")
    for column in ("role", "topic", "partitions", "cleanup.policy", "state"):
        table.add_column(column, overflow="fold")  # a topic name is never cut
    for s in states:
        verdict = "created" if s.spec.name in created else s.verdict
        colour = "green" if verdict in ("ok", "created") else "red"
        table.add_row(
            s.spec.role,
            s.spec.name,
            str(s.partitions if s.partitions is not None else "-"),
            s.cleanup_policy or "-",
            f"[{colour}]{verdict}[/]",
        )
    _out.print(table)


@click.group()
def topics() -> None:
    """Declare and inspect the pipeline's Kafka topics (the broker creates none by itself)."""


@topics.command("create")
@click.pass_obj
def topics_create(settings: Settings) -> None:
    """Create the missing topics (feeds, reference, alerts, dead letters). Safe to repeat."""
    created = declare_topics(settings)
    states = describe_topics(settings)
    _print_states(states, set(created))
    _out.print(f"{len(created)} created, {len(states) - len(created)} already there.")


@topics.command("acls")
@click.option(
    "--apply",
    "apply_them",
    is_flag=True,
    help="Create them on the cluster (as a super user, e.g. the admin principal).",
)
@click.pass_obj
def topics_acls(settings: Settings, apply_them: bool) -> None:
    """Show the ACLs of each principal (worker, producer, console, downstream) for these
    topic names; with --apply, create them. Safe to repeat."""
    from streams.kafka import acls

    table = Table(title="ACLs (allow, any host)", title_justify="left")
    for column in ("principal", "operation", "resource", "pattern", "name"):
        table.add_column(column, overflow="fold", no_wrap=column != "name")
    bindings = acls.acls(settings)
    for b in bindings:
        row = (b.principal, b.operation, b.restype, b.resource_pattern_type, b.name)
        table.add_row(*(str(getattr(v, "name", v)) for v in row))
    _out.print(table)
    if apply_them:
        count = acls.apply(admin_client(settings, "controlfeed-acls", log_level=2), settings)
        _out.print(f"{count} ACLs applied to {settings.kafka_bootstrap_servers}.")


def _state_json(s: TopicState) -> dict[str, object]:
    return {
        "role": s.spec.role,
        "topic": s.spec.name,
        "partitions": s.partitions,
        "cleanup_policy": s.cleanup_policy,
        "state": s.verdict,
        "want_partitions": s.spec.partitions,
        "want_cleanup_policy": s.spec.cleanup_policy,
    }


@topics.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the topics as JSON, for scripts.")
@click.pass_obj
def topics_list(settings: Settings, as_json: bool) -> None:
    """Show each pipeline topic on the broker; exit 1 if any is missing."""
    states = describe_topics(settings)
    if as_json:
        click.echo(json.dumps([_state_json(s) for s in states]))
    else:
        _print_states(states)
    if any(s.partitions is None for s in states):
        if not as_json:
            _out.print("Some topics are missing: `controlfeed topics create` declares them.")
        sys.exit(1)
