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
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rules import RulesConfig
from schemas.alert_state import ACTIONS, has_personal_data
from streams.ops.console.actions import Actions
from streams.ops.console.book import Book
from streams.ops.console.explain import explain, rule_list
from streams.ops.console.guard import SecurityHeaders, error, needs, user_of
from streams.ops.console.health import Health
from streams.ops.console.lifecycle import ActionRefused, decide
from streams.ops.console.params import listing, stored_filter
from streams.ops.console.stored import NotStoredError, Stored
from streams.ops.console.users import User, Users
from streams.settings import Settings

__all__ = ["STATIC", "make_app"]

log = logging.getLogger(__name__)

STATIC: Final = Path(__file__).parent / "static"
"""The page's files (our own modules and styles; nothing fetched at run time)."""

_APPLY_WAIT_S: Final = 5.0
_PING_S: Final = 5.0
_STREAM_POLL_S: Final = 0.15


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
            return error(415, "send the login as application/json")
        try:
            body = await request.json()
            name, password = str(body["name"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return error(400, 'send JSON {"name": ..., "password": ...}')
        user = await asyncio.to_thread(users.check, name, password)
        if user is None:
            log.info("console: failed login for a user name of %d characters", len(name))
            return error(401, "wrong user name or password")
        request.session.clear()
        request.session.update({"user": user.name, "csrf": secrets.token_urlsafe(24)})
        log.info("console: %s logged in (%s)", user.name, user.role)
        return await me(request)

    async def me(request: Request) -> Response:
        user = user_of(request)
        if user is None:
            return error(401, "log in first")
        return JSONResponse({"user": user.name, "role": user.role,
                             "csrf": request.session.get("csrf")})  # fmt: skip

    async def logout(request: Request) -> Response:
        request.session.clear()
        return JSONResponse({"ok": True})

    @needs("viewer")
    async def list_alerts(request: Request) -> Response:
        try:
            query, limit, offset = listing(request.query_params)
        except ValueError as err:
            return error(400, str(err))
        stream_id = f"{book.epoch}.{book.seq}"  # before the snapshot: nothing falls between
        total, alerts = book.query(query, limit, offset)
        return JSONResponse({"total": total, "offset": offset, "alerts": alerts,
                             "stream_id": stream_id, "counts": book.counts(),
                             "ready": book.ready.is_set()})  # fmt: skip

    @needs("viewer")
    async def history(request: Request) -> Response:
        try:
            query, limit, offset = listing(request.query_params)
        except ValueError as err:
            return error(400, str(err))
        try:
            total, found = await asyncio.to_thread(
                stored.history, stored_filter(query), limit, offset
            )
        except NotStoredError as err:
            return error(503, str(err))
        alerts = [book.stored_view(*row) for row in found]
        return JSONResponse({"total": total, "offset": offset, "alerts": alerts})

    @needs("viewer")
    async def one_alert(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        view = await find(alert_id)
        if view is None:
            why = "" if stored.configured else " (older ones are read from a ClickHouse server)"
            return error(404, "no such alert" + why)
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

    @needs("operator", change=True)
    async def act(request: Request) -> Response:
        alert_id = request.path_params["alert_id"]
        if await find(alert_id) is None:
            return error(404, "no such alert")
        try:
            body = await request.json()
            action = body["action"]
            if action not in ACTIONS:
                raise KeyError
        except (ValueError, KeyError, TypeError):
            return error(400, f'send JSON {{"action": one of {", ".join(ACTIONS)}}}')
        note = body.get("note")
        if note is not None and (not isinstance(note, str) or has_personal_data(note)):
            return error(400, "a note must be text without ID or phone numbers")
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
            return error(409 if err.conflict else 400, str(err))
        except ValueError as err:  # pydantic: e.g. an assignee that is not a user name
            return error(400, f"the action is not valid: {err.__class__.__name__}")
        failure = await asyncio.to_thread(actions.write, record)
        if failure is not None:
            return error(503, f"the action was not stored: {failure}; try again")
        deadline = time.monotonic() + _APPLY_WAIT_S
        while (applied := book.outcome(record.action_id)) is None:
            if time.monotonic() > deadline:
                return error(504, "the action was stored but not read back yet; reload soon")
            await asyncio.sleep(0.02)
        if not applied:
            return error(409, "another action on this alert came first; reload it")
        return JSONResponse(
            {"alert": await find(alert_id), "state": record.model_dump(mode="json")}
        )

    @needs("viewer")
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

    @needs("viewer")
    async def health(_request: Request) -> Response:
        pipeline = await asyncio.to_thread(pipeline_health.read)
        return JSONResponse({"console": {"ready": book.ready.is_set(), **book.counts()},
                             "worker": pipeline})  # fmt: skip

    @needs("viewer")
    async def rules(_request: Request) -> Response:
        return JSONResponse({"rules": rule_list()})

    @needs("viewer")
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
        Route("/api/rules", rules),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
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
