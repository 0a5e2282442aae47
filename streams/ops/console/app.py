"""The console's web app: the page, its JSON API under ``/api/`` and the live stream.

Built by ``make_app`` for ``controlfeed console`` (``streams.cli.console``),
which serves it with uvicorn. ``docs/console.md`` documents every route. The
alerts and their states come from the ``Book`` (filled from Kafka by
``streams.ops.console.follow``); an action is written to the alert-state topic
by ``Actions`` and answered once this console has read it back and applied
it (the topic's order decides between two consoles acting at once).

Security: every route but ``/healthz``, ``/`` and the static files needs a
login (a signed, HTTP-only, SameSite=Strict session cookie; ``Secure`` when
served over TLS); every change needs the session's CSRF token in the
``X-CSRF-Token`` header; actions need the ``operator`` role. Every response
carries a Content-Security-Policy without inline scripts. Only masked
personal data exists in what the console reads, and notes with something
shaped like an ID or phone number are refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from confluent_kafka import KafkaError, Message, Producer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from rules import RulesConfig
from schemas.alert_state import ACTIONS, AlertState, has_personal_data
from sinks.queries import AlertFilter
from streams.kafka.clients import producer
from streams.ops.console.book import Book, Query
from streams.ops.console.explain import explain
from streams.ops.console.health import Health
from streams.ops.console.lifecycle import ActionRefused, decide
from streams.ops.console.stored import NotStoredError, Stored
from streams.ops.console.users import Role, User, Users
from streams.settings import Settings

__all__ = ["STATIC", "Actions", "make_app"]

log = logging.getLogger(__name__)

STATIC: Final = Path(__file__).parent / "static"
"""The page's files (our own modules and styles; nothing fetched at run time)."""

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS: Final = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]
_PAGE_MAX: Final = 500
_APPLY_WAIT_S: Final = 5.0
_PING_S: Final = 5.0
_STREAM_POLL_S: Final = 0.15


class Actions:
    """Writes actions to the alert-state topic (an idempotent producer, acks=all)."""

    def __init__(self, settings: Settings) -> None:
        self._topic = settings.topic_alert_state
        self._producer: Producer = producer(settings, "controlfeed-console")

    def write(self, record: AlertState, timeout: float = 10.0) -> str | None:
        """Send ``record`` keyed by its alert and wait for the broker; None, or what failed."""
        failure: list[str] = []

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                failure.append(err.str())

        self._producer.produce(
            self._topic, record.model_dump_json().encode(), record.alert_id.encode(),
            on_delivery=delivered,
        )  # fmt: skip
        if self._producer.flush(timeout) > 0:
            return "Kafka did not take the action in time"
        return failure[0] if failure else None

    def close(self) -> None:
        """Deliver what is left."""
        self._producer.flush(5)


class _SecurityHeaders:
    """Adds the CSP and its companions to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: AsgiMessage) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _user(request: Request) -> User | None:
    """The logged-in user, with the role the users file gives them now (None: none)."""
    name = request.session.get("user")
    if not isinstance(name, str):
        return None
    users: Users = request.app.state.users
    role = users.role_of(name)
    return None if role is None else User(name, role)


Handler = Callable[[Request], Awaitable[Response]]


def _needs(role: Role, *, change: bool = False) -> Callable[[Handler], Handler]:
    """A route that needs a login with ``role`` (and, for a change, the CSRF token)."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            user = _user(request)
            if user is None:
                return _error(401, "log in first")
            if change:
                token = request.session.get("csrf")
                sent = request.headers.get("x-csrf-token", "")
                if not isinstance(token, str) or not secrets.compare_digest(token, sent):
                    return _error(403, "missing or wrong CSRF token; reload the page")
            if not user.may(role):
                return _error(403, f"{user.role}s may not do this; it needs the {role} role")
            request.state.user = user
            return await handler(request)

        return guarded

    return wrap


def _split(value: str | None) -> frozenset[str]:
    return frozenset(v for v in (value or "").split(",") if v)


def _time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{name} must be an ISO 8601 time, e.g. 2022-10-14T08:00:00+08:00"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _int(value: str | None, name: str, default: int, top: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 0 <= int(value) <= top:
        raise ValueError(f"{name} must be a whole number from 0 to {top}")
    return int(value)


def make_app(
    settings: Settings,
    book: Book,
    users: Users,
    actions: Actions,
    config: RulesConfig,
    secret: str,
    *,
    https: bool = False,
) -> Starlette:
    """The console's ASGI app; ``secret`` signs the session cookies."""
    pipeline_health = Health(settings)
    stored = Stored(settings)

    def query_of(request: Request) -> Query:
        """The filters of the list routes; raises ``ValueError`` with words for the user."""
        p = request.query_params
        return Query(
            rule=_split(p.get("rule")), severity=_split(p.get("severity")),
            status=_split(p.get("status")), grid=_split(p.get("grid")),
            place=p.get("place") or None, since=_time(p.get("since"), "since"),
            until=_time(p.get("until"), "until"), q=p.get("q") or None,
        )  # fmt: skip

    def page_of(request: Request) -> tuple[int, int]:
        p = request.query_params
        return _int(p.get("limit"), "limit", 200, _PAGE_MAX), _int(
            p.get("offset"), "offset", 0, 10_000_000
        )

    async def find(alert_id: str) -> dict[str, Any] | None:
        """The alert from memory, else from ClickHouse; None when neither has it."""
        view = book.view(alert_id)
        if view is not None or not stored.configured:
            return view
        try:
            found = await asyncio.to_thread(stored.alert, alert_id)
        except NotStoredError:
            return None
        return None if found is None else book.stored_view(*found)

    async def page(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True, "ready": book.ready.is_set()})

    async def login(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _error(415, "send the login as application/json")
        try:
            body = await request.json()
            name, password = str(body["name"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return _error(400, 'send JSON {"name": ..., "password": ...}')
        user = await asyncio.to_thread(users.check, name, password)
        if user is None:
            log.info("console: failed login for a user name of %d characters", len(name))
            return _error(401, "wrong user name or password")
        request.session.clear()
        request.session.update({"user": user.name, "csrf": secrets.token_urlsafe(24)})
        log.info("console: %s logged in (%s)", user.name, user.role)
        return await me(request)

    async def me(request: Request) -> Response:
        user = _user(request)
        if user is None:
            return _error(401, "log in first")
        return JSONResponse({"user": user.name, "role": user.role,
                             "csrf": request.session.get("csrf")})  # fmt: skip

    async def logout(request: Request) -> Response:
        request.session.clear()
        return JSONResponse({"ok": True})

    @_needs("viewer")
    async def list_alerts(request: Request) -> Response:
        try:
            query = query_of(request)
            limit, offset = page_of(request)
        except ValueError as err:
            return _error(400, str(err))
        stream_id = f"{book.epoch}.{book.seq}"  # before the snapshot: nothing falls between
        total, alerts = book.query(query, limit, offset)
        return JSONResponse({"total": total, "offset": offset, "alerts": alerts,
                             "stream_id": stream_id, "counts": book.counts(),
                             "ready": book.ready.is_set()})  # fmt: skip

    @_needs("viewer")
    async def history(request: Request) -> Response:
        try:
            query = query_of(request)
            limit, offset = page_of(request)
        except ValueError as err:
            return _error(400, str(err))
        where = AlertFilter(
            rules=tuple(sorted(query.rule)), severities=tuple(sorted(query.severity)),
            statuses=tuple(sorted(query.status)), grids=tuple(sorted(query.grid)),
            place=query.place, since=query.since, until=query.until, text=query.q,
        )  # fmt: skip
        try:
            total, found = await asyncio.to_thread(stored.history, where, limit, offset)
        except NotStoredError as err:
            return _error(503, str(err))
        alerts = [book.stored_view(*row) for row in found]
        return JSONResponse({"total": total, "offset": offset, "alerts": alerts})

    @_needs("viewer")
    async def one_alert(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        view = await find(alert_id)
        if view is None:
            why = "" if stored.configured else " (older ones are read from a ClickHouse server)"
            return _error(404, "no such alert" + why)
        trail: list[dict[str, Any]] = [r.model_dump(mode="json") for r in book.trail(alert_id)]
        rule_text = explain(view["rule"], config)
        try:
            events, note = await asyncio.to_thread(stored.evidence, view["evidence"])
            older = await asyncio.to_thread(stored.trail, alert_id)
        except NotStoredError as err:
            events, note, older = None, str(err), []
        # The compacted alert-state topic keeps an alert's newest record: the versions it
        # no longer holds come from the audit trail in ClickHouse.
        have = {r["version"] for r in trail}
        trail = sorted(trail + [r for r in older if r["version"] not in have],
                       key=lambda r: int(r["version"]))  # fmt: skip
        return JSONResponse({"alert": view, "trail": trail, "rule_text": rule_text,
                             "evidence": events, "evidence_note": note})  # fmt: skip

    @_needs("operator", change=True)
    async def act(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        if await find(alert_id) is None:
            return _error(404, "no such alert")
        try:
            body = await request.json()
            action = body["action"]
            if action not in ACTIONS:
                raise KeyError
        except (ValueError, KeyError, TypeError):
            return _error(400, f'send JSON {{"action": one of {", ".join(ACTIONS)}}}')
        note = body.get("note")
        if note is not None and (not isinstance(note, str) or has_personal_data(note)):
            return _error(400, "a note must be text without ID or phone numbers")
        version = body.get("version")
        user: User = request.state.user
        try:
            record = decide(
                book.state(alert_id), alert_id=alert_id, action=action, actor=user.name,
                at=datetime.now(UTC), action_id=uuid.uuid4().hex, note=note,
                assignee=body.get("assignee") if action == "assign" else None,
                expected_version=version if isinstance(version, int) else None,
            )  # fmt: skip
        except ActionRefused as err:
            return _error(409 if err.conflict else 400, str(err))
        except ValueError as err:  # pydantic: e.g. an assignee that is not a user name
            return _error(400, f"the action is not valid: {err.__class__.__name__}")
        failure = await asyncio.to_thread(actions.write, record)
        if failure is not None:
            return _error(503, f"the action was not stored: {failure}; try again")
        deadline = time.monotonic() + _APPLY_WAIT_S
        while (applied := book.outcome(record.action_id)) is None:
            if time.monotonic() > deadline:
                return _error(504, "the action was stored but not read back yet; reload soon")
            await asyncio.sleep(0.02)
        if not applied:
            return _error(409, "another action on this alert came first; reload it")
        return JSONResponse(
            {"alert": await find(alert_id), "state": record.model_dump(mode="json")}
        )

    @_needs("viewer")
    async def stream(request: Request) -> Response:
        start = request.headers.get("last-event-id") or request.query_params.get("from") or ""
        epoch, _, seq_text = start.partition(".")
        seq = int(seq_text) if epoch == book.epoch and seq_text.isdigit() else None
        return StreamingResponse(
            _events(request, seq),
            media_type="text/event-stream",
            headers={"cache-control": "no-store", "x-accel-buffering": "no"},
        )

    async def _events(request: Request, seq: int | None) -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        if seq is None or book.since(seq) is None:
            seq = book.seq
            yield f"id: {book.epoch}.{seq}\nevent: reset\ndata: {{}}\n\n"
        next_ping = 0.0
        while not await request.is_disconnected():
            changes = book.since(seq)
            if changes is None:  # fell out of the log: the page reloads its list
                seq = book.seq
                yield f"id: {book.epoch}.{seq}\nevent: reset\ndata: {{}}\n\n"
                continue
            for change in changes:
                view = book.view(change.alert_id)
                seq = change.seq
                if view is None and change.kind == "state":  # an alert read from ClickHouse
                    now_state = book.state(change.alert_id)
                    if now_state is not None:
                        view = {"alert_id": change.alert_id, "status": now_state.status,
                                "version": now_state.version, "assignee": now_state.assignee,
                                "partial": True}  # fmt: skip
                if view is not None:
                    data = json.dumps(view, ensure_ascii=False, separators=(",", ":"))
                    yield f"id: {book.epoch}.{seq}\nevent: {change.kind}\ndata: {data}\n\n"
            now = time.monotonic()
            if changes or now >= next_ping:  # the counts (title, favicon) follow every change
                next_ping = now + _PING_S
                data = json.dumps({"at": time.time(), "counts": book.counts(),
                                   "ready": book.ready.is_set()})  # fmt: skip
                yield f"id: {book.epoch}.{seq}\nevent: ping\ndata: {data}\n\n"
            await asyncio.sleep(_STREAM_POLL_S)

    @_needs("viewer")
    async def health(_request: Request) -> Response:
        pipeline = await asyncio.to_thread(pipeline_health.read)
        return JSONResponse({"console": {"ready": book.ready.is_set(), **book.counts()},
                             "worker": pipeline})  # fmt: skip

    @_needs("viewer")
    async def places(_request: Request) -> Response:
        fixed = [
            {"id": p.place_id, "name": p.name, "kind": p.kind, "lat": p.lat, "lon": p.lon,
             "grid": p.grid, "key_site": p.key_site}
            for p in config.places.values()
        ]  # fmt: skip
        venues = [
            {"id": v.venue_id, "name": v.name, "kind": "venue", "type": v.type, "lat": v.lat,
             "lon": v.lon, "grid": v.grid, "status": v.status}
            for v in book.venues()
        ]  # fmt: skip
        open_alerts = book.open_by_place()
        grids: dict[str, int] = {}
        for n, _, grid in open_alerts.values():
            if grid:
                grids[grid] = grids.get(grid, 0) + n
        alerts = {place: {"open": n, "critical": c} for place, (n, c, _) in open_alerts.items()}
        return JSONResponse({"places": fixed + venues, "alerts": alerts, "grids": grids})

    routes = [
        Route("/", page),
        Route("/healthz", healthz),
        Route("/api/login", login, methods=["POST"]),
        Route("/api/logout", logout, methods=["POST"]),
        Route("/api/me", me),
        Route("/api/alerts", list_alerts),
        Route("/api/history", history),
        Route("/api/alerts/{alert_id:str}", one_alert),
        Route("/api/alerts/{alert_id:str}/actions", act, methods=["POST"]),
        Route("/api/stream", stream),
        Route("/api/health", health),
        Route("/api/places", places),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(_SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie="controlfeed_console",
            max_age=12 * 3600,
            same_site="strict",
            https_only=https,
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.users = users
    return app
