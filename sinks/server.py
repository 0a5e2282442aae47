"""``ServerStore``: the sink's tables on a ClickHouse server, through clickhouse-driver.

Chosen by ``sinks.factory.open_store`` when a URL is configured. Inserts are
columnar over the native protocol (``columnar=True``): the fastest path
clickhouse-driver has (``docs/storage.md``, "Measurement"), with the column
data encoded by ``sinks.native`` (no Python loop per value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from sinks.ddl import COLUMNS
from sinks.exceptions import QueryError, SinkError, StoreUnavailableError
from sinks.native import install as install_native_blocks
from sinks.store import QueryResult

__all__ = ["ServerStore"]

_RETRYABLE_CODES: Final = frozenset({159, 160, 202, 203, 209, 210, 241, 242, 252, 319, 425})
"""Server error codes that mean "not now" (timeouts, too many queries or parts,
memory, read-only table, network): the same statement may succeed later."""


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, "", ""))


class ServerStore:
    """A ClickHouse server reached by URL, e.g. ``clickhouse://127.0.0.1:9000/default``.

    The database in the URL must exist. The connection is opened on first use
    and again after a network error, so a store outlives a server restart.
    """

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        connect_timeout: float = 5.0,
        timeout: float = 60.0,
    ) -> None:
        """``password``: the URL user's, when the URL holds none (read from a file by the
        caller). TLS is the URL's: ``?secure=True&ca_certs=/path/ca.pem`` (clickhouse-driver's
        parameters). A URL that does not parse is a ``QueryError`` that never shows it."""
        try:
            self._client = Client.from_url(url)
            description = _safe_url(url)
        except (ValueError, KeyError) as err:
            raise QueryError(
                f"the ClickHouse URL does not parse ({type(err).__name__})",
                hint="Use the form clickhouse://user@host:9000/database.",
            ) from err
        if password is not None and not urlsplit(url).password:
            self._client.connection.password = password
        self._client.connection.connect_timeout = connect_timeout
        self._client.connection.send_receive_timeout = timeout
        self._connect_timeout, self._timeout = connect_timeout, timeout
        install_native_blocks(self._client)
        self._description = description

    @property
    def description(self) -> str:
        """The URL without its password."""
        return self._description

    def _connect(self) -> None:
        """Connect with the connect time-out for the handshake too: a server that takes
        the connection and never says hello (the HTTP port, a lookalike) fails in
        seconds, not after the read time-out; then the socket gets the read time-out."""
        connection = self._client.connection
        if connection.connected:
            return
        connection.send_receive_timeout = self._connect_timeout
        try:
            connection.connect()
        finally:
            connection.send_receive_timeout = self._timeout
        if connection.socket is not None:
            connection.socket.settimeout(self._timeout)

    def _run(self, sql: str, data: Any = None, **kwargs: Any) -> Any:
        try:
            self._connect()
            if data is None:
                return self._client.execute(sql, **kwargs)
            return self._client.execute(sql, data, **kwargs)
        except ch_errors.ServerException as err:
            reason = err.message.split("Stack trace:")[0].strip()
            message = f"ClickHouse at {self._description} refused: {reason}"
            if err.code in _RETRYABLE_CODES:
                raise StoreUnavailableError(message, hint="Retry later.") from err
            raise QueryError(message, hint="Check the statement and the table names.") from err
        except (ch_errors.NetworkError, ch_errors.SocketTimeoutError, OSError, EOFError) as err:
            self._client.disconnect()
            raise StoreUnavailableError(
                f"ClickHouse at {self._description} is unreachable: {err}",
                hint="Start it (`controlfeed stack up clickhouse`) or fix "
                "CONTROLFEED_CLICKHOUSE_URL.",
            ) from err
        except ch_errors.Error as err:
            self._client.disconnect()
            raise SinkError(
                f"ClickHouse at {self._description}: {err}",
                hint="Check CONTROLFEED_CLICKHOUSE_URL and the server's log (`controlfeed stack "
                "status` names the local one's).",
            ) from err

    def execute(self, sql: str) -> None:
        """Run a statement that returns nothing."""
        self._run(sql)

    def query(self, sql: str) -> QueryResult:
        """Run a statement; datetimes come back aware, in their column's time zone."""
        rows, columns = self._run(sql, with_column_types=True)
        names = tuple(name for name, _ in columns)
        types = tuple(kind for _, kind in columns)
        return QueryResult(names, types, [tuple(row) for row in rows])

    def insert(self, table: str, columns: Sequence[Sequence[Any]]) -> None:
        """One columnar INSERT of a whole block (``Store.insert``)."""
        names = ", ".join(f"`{name}`" for name, _ in COLUMNS[table])
        block = [column if isinstance(column, list) else list(column) for column in columns]
        self._run(f"INSERT INTO {table} ({names}) VALUES", block, columnar=True)

    def close(self) -> None:
        """Close the connection; the next call would open it again."""
        self._client.disconnect()
