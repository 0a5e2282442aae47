"""``controlfeed console``: serve the operators' console; ``console add-user`` and friends.

Registered in ``streams.cli``. ``controlfeed console`` declares the topics it
reads and writes, starts the readers (``streams.ops.console.follow``) and serves
the app (``streams.ops.console.app``) with uvicorn on
``CONTROLFEED_CONSOLE_HOST:CONTROLFEED_CONSOLE_PORT`` until stopped. It
refuses an address other than loopback without TLS settings
(``CONTROLFEED_CONSOLE_TLS_CERT`` and ``_KEY``) unless ``--allow-plain-http``,
and refuses to start with no users unless ``--demo-login`` (a throwaway
operator whose password is printed once). Every refusal is a
``ControlfeedError`` with a hint (exit status 2).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import click
import uvicorn

from streams.exceptions import ControlfeedError
from streams.kafka.topics import declare_topics
from streams.ops.console.actions import Actions
from streams.ops.console.app import make_app
from streams.ops.console.book import Book
from streams.ops.console.follow import Followers
from streams.ops.console.users import ROLES, Users, users_file
from streams.settings import Settings
from streams.worker.startup import rules_config

__all__ = ["console", "serve"]

log = logging.getLogger(__name__)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secret(settings: Settings) -> str:
    """The key that signs session cookies: ``<data_dir>/console/secret``, made once (0600).

    Consoles sharing a data dir share it, so a browser's session holds across them.
    """
    path = settings.data_dir / "console" / "secret"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        return path.read_text().strip()
    except OSError as err:
        raise ControlfeedError(
            f"cannot keep the console's session key in {path}: {err.strerror}",
            hint="Set CONTROLFEED_DATA_DIR to a writable folder.",
        ) from None


@click.group(invoke_without_command=True)
@click.option(
    "--demo-login",
    is_flag=True,
    help="Add a throwaway operator 'demo' with a random password, printed once.",
)
@click.option(
    "--allow-plain-http",
    is_flag=True,
    help="Serve a non-loopback address without TLS (behind a TLS proxy only).",
)
@click.option("--loglevel", default="warning", show_default=True, help="Log level.")
@click.pass_context
def console(ctx: click.Context, demo_login: bool, allow_plain_http: bool, loglevel: str) -> None:
    """Serve the operators' console: live alerts, taken, acknowledged and resolved."""
    if ctx.invoked_subcommand is not None:
        return
    settings: Settings = ctx.obj
    logging.basicConfig(level=loglevel.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    serve(settings, demo_login=demo_login, allow_plain_http=allow_plain_http, loglevel=loglevel)


def serve(
    settings: Settings,
    *,
    demo_login: bool = False,
    allow_plain_http: bool = False,
    loglevel: str = "warning",
    say: Callable[[str], None] | None = None,
) -> None:
    """Serve the console until SIGINT or SIGTERM; called by ``controlfeed console`` and by
    ``controlfeed demo --console``. ``say`` prints the URL and the demo login (default:
    stderr). Raises ``ControlfeedError`` for every refusal (see the module docstring)."""
    say = say or (lambda line: click.echo(line, err=True))
    tls = settings.console_tls_cert is not None and settings.console_tls_key is not None
    if not tls and not _loopback(settings.console_host) and not allow_plain_http:
        raise ControlfeedError(
            f"refusing to serve the console on {settings.console_host} without TLS: "
            "passwords and alerts would cross the network in clear",
            hint="Set CONTROLFEED_CONSOLE_TLS_CERT and CONTROLFEED_CONSOLE_TLS_KEY, or "
            "pass --allow-plain-http when a TLS proxy in front of it terminates TLS.",
        )
    users = Users(users_file(settings))
    password = None
    if demo_login:
        password = secrets.token_urlsafe(12)
        users.add("demo", "operator", password)
    elif not users.names():
        raise ControlfeedError(
            f"the console has no users yet ({users.path})",
            hint="Add one with `controlfeed console add-user NAME --role operator`, or "
            "start it with --demo-login for a throwaway one.",
        )
    config = rules_config(settings)
    declare_topics(settings, only=[settings.topic_alert_state])  # its own; the rest it reads
    book = Book(place_names={p.place_id: p.name for p in config.places.values()})
    followers = Followers(settings, book)
    followers.start()
    actions = Actions(settings)
    app = make_app(settings, book, users, actions, config, _secret(settings), https=tls)
    scheme = "https" if tls else "http"
    url = f"{scheme}://{settings.console_host}:{settings.console_port}/"
    server = _Server(
        uvicorn.Config(
            app,
            host=settings.console_host,
            port=settings.console_port,
            log_level=loglevel.lower(),
            access_log=False,
            ssl_certfile=str(settings.console_tls_cert) if tls else None,
            ssl_keyfile=str(settings.console_tls_key) if tls else None,
            timeout_graceful_shutdown=2,
        )
    )

    def announce() -> None:  # once it listens and has read the topics: the URL then works
        while not (server.started and book.ready.is_set()) and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            say(f"Console: {url}")
            if password is not None:
                say(f"Demo login: demo / {password} (a throwaway operator)")

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run()
    finally:
        followers.stop()
        actions.close()
    if not server.started:
        raise ControlfeedError(
            f"the console could not listen on {settings.console_host}:{settings.console_port}",
            hint="Another program holds the port: set CONTROLFEED_CONSOLE_PORT to a free one.",
        )


class _Server(uvicorn.Server):
    """uvicorn's server, stopped by SIGINT or SIGTERM without re-raising the signal after:
    ``serve`` returns, so its caller cleans up (the demo deletes its topics)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.force_exit = self.should_exit  # a second Ctrl-C: at once
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@console.command("add-user")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="operator", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.pass_obj
def add_user(settings: Settings, name: str, role: str, password_stdin: bool) -> None:
    """Add a console user (or set their role and password)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    users = Users(users_file(settings))
    users.add(name, role, password)
    click.echo(f"{name} ({role}) can log in; users are in {users.path}")


@console.command("remove-user")
@click.argument("name")
@click.pass_obj
def remove_user(settings: Settings, name: str) -> None:
    """Remove a console user (their open sessions end at their next request's check)."""
    users = Users(users_file(settings))
    if not users.remove(name):
        raise ControlfeedError(f"there is no console user {name!r}",
                               hint="`controlfeed console users` lists them.")  # fmt: skip
    click.echo(f"{name} removed")


@console.command("users")
@click.pass_obj
def list_users(settings: Settings) -> None:
    """List the console's users."""
    users = Users(users_file(settings))
    for name in users.names():
        click.echo(name)
    if not users.names():
        click.echo(f"no users yet ({Path(users.path)})", err=True)
