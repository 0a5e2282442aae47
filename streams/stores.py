"""The configured ClickHouse store, opened as the user that writes or the one that reads.

Called by every entry point that reaches ClickHouse: the worker's sink
(``writer``), ``controlfeed query`` (``reader``, or ``writer`` with ``--write``),
the console (``reader``), the demo. Least privilege: the sink writes as
``CONTROLFEED_CLICKHOUSE_URL``'s user; the others read as
``CONTROLFEED_CLICKHOUSE_READ_URL``'s, a user whose profile is read-only on the
server, when it is set. Passwords come from files
(``CONTROLFEED_CLICKHOUSE_PASSWORD_FILE``, ``..._READ_PASSWORD_FILE``) read at each
open, or from the URL; they are never shown (``Store.description`` drops them).
Without a URL the store is chDB, which has no users. Raises ``ControlfeedError``
for an unreadable password file and ``sinks.SinkError`` for the store itself.
"""

from __future__ import annotations

from pathlib import Path

from sinks import Store, open_store
from streams.settings import Settings, secret_from_file

__all__ = ["reader", "reader_url", "writer"]


def _password(path: Path | None, setting: str) -> str | None:
    return None if path is None else secret_from_file(path, "ClickHouse password", setting)


def reader_url(settings: Settings) -> str:
    """The URL readers use: the read-only user's when configured, else the writer's."""
    return settings.clickhouse_read_url or settings.clickhouse_url


def writer(settings: Settings) -> Store:
    """The store as the user that writes (the sink, ``query --write``)."""
    password = _password(settings.clickhouse_password_file, "CONTROLFEED_CLICKHOUSE_PASSWORD_FILE")
    return open_store(settings.clickhouse_url, settings.data_dir / "chdb", password)


def reader(settings: Settings) -> Store:
    """The store as the read-only user when one is configured (query, the console)."""
    if not settings.clickhouse_read_url:
        return writer(settings)
    password = _password(
        settings.clickhouse_read_password_file, "CONTROLFEED_CLICKHOUSE_READ_PASSWORD_FILE"
    )
    return open_store(settings.clickhouse_read_url, settings.data_dir / "chdb", password)
