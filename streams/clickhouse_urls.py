"""The ClickHouse URLs of the settings: what makes one unusable, and how to show one.

Called by ``streams.settings`` while the settings are built, so that a URL that
could never work is a settings error naming its variable before anything
connects (``garbage`` would otherwise reach the driver as a database name on
localhost, and the server's HTTP port would hang until the read time-out), and
by anything that shows a URL (``masked``). Nothing here returns or raises text
that holds a URL's password.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import SplitResult, urlsplit, urlunsplit

__all__ = ["FORM", "HTTP_PORTS", "SCHEMES", "masked", "url_problem"]

SCHEMES: Final = ("clickhouse", "clickhouses")
"""The native protocol, plain and over TLS: what clickhouse-driver speaks."""
HTTP_PORTS: Final = frozenset({8123, 8443})
"""ClickHouse's usual HTTP and HTTPS ports: a native client there waits for an answer
that never comes."""
FORM: Final = "clickhouse://user@host:9000/database (clickhouses://...:9440 over TLS)"
"""The expected form, for messages."""


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        raise ValueError("its port is not a number from 1 to 65535") from None


def url_problem(url: str, http_port: int = 8123) -> str | None:
    """What makes ``url`` unusable as a native-protocol URL, in words that never hold the
    URL or its password; None when it is usable (or empty: not configured).

    ``http_port`` is the local server's HTTP port (``CONTROLFEED_CLICKHOUSE_HTTP_PORT``),
    refused like 8123 and 8443.
    """
    if not url:
        return None
    if "://" not in url:
        return f"the URL is malformed: expected {FORM}"
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        return (
            f"{parts.scheme}:// is ClickHouse's HTTP interface; controlfeed speaks the native "
            f"protocol: {FORM}"
        )
    if parts.scheme not in SCHEMES:
        return f"the scheme must be clickhouse:// or clickhouses://, as in {FORM}"
    try:
        port = _port(parts)
    except ValueError as err:
        return f"the URL is malformed: {err}"
    if not parts.hostname:
        return f"the URL names no host: expected {FORM}"
    if port == 0:
        return "the URL is malformed: its port is not a number from 1 to 65535"
    if port is not None and (port in HTTP_PORTS or port == http_port):
        return (
            f"port {port} is ClickHouse's HTTP port, and controlfeed speaks the native "
            "protocol: use port 9000 (9440 over TLS)"
        )
    return None


def masked(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``; the rest as given."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<a malformed URL>"
    if password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
