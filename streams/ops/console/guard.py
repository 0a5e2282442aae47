"""Who may do what in the console's web app, and the headers every answer carries.

Used by every route of ``streams.ops.console.app``: ``needs(role)`` wraps a
route so it answers 401 without a login, 403 without the role or (for a
change) without the session's CSRF token; ``SecurityHeaders`` adds the
Content-Security-Policy (no inline scripts) and its companions.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from streams.ops.console.users import Role, User, Users

__all__ = ["CSP", "Handler", "SecurityHeaders", "error", "needs", "user_of"]

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS: Final = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]


class SecurityHeaders:
    """Adds the CSP and its companions to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: AsgiMessage) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    """A JSON error answer: ``{"error": message, ...}`` with ``status``."""
    return JSONResponse({"error": message, **extra}, status_code=status)


def user_of(request: Request) -> User | None:
    """The logged-in user, with the role the users file gives them now (None: none)."""
    name = request.session.get("user")
    if not isinstance(name, str):
        return None
    users: Users = request.app.state.users
    role = users.role_of(name)
    return None if role is None else User(name, role)


Handler = Callable[[Request], Awaitable[Response]]


def needs(role: Role, *, change: bool = False) -> Callable[[Handler], Handler]:
    """A route that needs a login with ``role`` (and, for a change, the CSRF token)."""

    def wrap(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            user = user_of(request)
            if user is None:
                return error(401, "log in first")
            if change:
                token = request.session.get("csrf")
                sent = request.headers.get("x-csrf-token", "")
                if not isinstance(token, str) or not secrets.compare_digest(token, sent):
                    return error(403, "missing or wrong CSRF token; reload the page")
            if not user.may(role):
                return error(403, f"{user.role}s may not do this; it needs the {role} role")
            request.state.user = user
            return await handler(request)

        return guarded

    return wrap
