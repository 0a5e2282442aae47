"""What the console reads from ClickHouse: evidence, alerts older than its memory, trails.

Called by the routes of ``streams.ops.console.app`` on a thread: ``evidence`` for the
detail view, ``history`` for ``GET /api/history`` (alerts the console's memory no
longer holds, or never read: ``streams.ops.console.book`` keeps the newest 50,000),
``alert`` for the detail of such an alert, ``trail`` for the audit trail the
compacted alert-state topic no longer holds whole. The sink stores every valid
event, alert and action once (``docs/storage.md``), pseudonymised and masked, so
what is shown is what ClickHouse holds: ``person_key``, ``person_masked``,
``phone_masked``, never a raw number; the SQL is ``sinks.queries``'.

It needs a ClickHouse server (``CONTROLFEED_CLICKHOUSE_READ_URL``, a read-only
user, else ``CONTROLFEED_CLICKHOUSE_URL``; ``streams.stores.reader``): the
embedded chDB store belongs to the worker's sink process. Without one, or when the server cannot
be reached, every method raises ``NotStoredError`` whose message says so in words (no
URL or password in them) and the console goes on with what it holds in memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from pydantic import ValidationError

from schemas.alerts import Alert
from sinks import Store
from sinks.exceptions import SinkError
from sinks.queries import (
    ALERT_HISTORY_COLUMNS,
    ALERT_TRAIL,
    EVIDENCE_TABLES,
    AlertFilter,
    alert_history_sql,
    evidence_sql,
)
from streams import stores
from streams.exceptions import ControlfeedError
from streams.ops.query import json_value
from streams.settings import Settings

__all__ = ["NotStoredError", "Stored", "StoredAlert"]

_MAX_IDS: Final = 50
_ALERT_ID: Final = re.compile(r"^[0-9a-f]{32}$")

T = TypeVar("T")

StoredAlert = tuple[Alert, str, int, str | None]
"""An alert as ClickHouse holds it, with its stored status, version and assignee."""


class NotStoredError(ControlfeedError):
    """ClickHouse cannot answer (no server configured, unreachable, refused): say why."""


def _alert(names: Sequence[str], row: Sequence[Any]) -> StoredAlert | None:
    """The ``Alert`` of one ``alert_history_sql`` row; None for a row that is not one."""
    fields = dict(zip(names, row, strict=True))
    time: datetime = fields.pop("event_time")
    time = time.astimezone(UTC) + timedelta(milliseconds=int(fields.pop("event_ms")))
    values = {name: fields[name] for name in ALERT_HISTORY_COLUMNS if name in fields}
    values = {k: (None if v == "" else v) for k, v in values.items()}  # '' stores "unknown"
    try:
        alert = Alert.model_validate({**values, "event_time": time, "message": fields["message"],
                                      "evidence": tuple(fields["evidence"])})  # fmt: skip
    except ValidationError:
        return None
    return alert, str(fields["status"]), int(fields["version"]), fields["assignee"] or None


class Stored:
    """Reads the configured ClickHouse server; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._url = stores.reader_url(settings)

    @property
    def configured(self) -> bool:
        """Whether a ClickHouse server is configured at all."""
        return bool(self._url)

    def _run(self, work: Callable[[Store], T]) -> T:
        if not self._url:
            raise NotStoredError(
                "older alerts, evidence events and whole audit trails are read from a "
                "ClickHouse server: set CONTROLFEED_CLICKHOUSE_URL (the embedded store "
                "belongs to the worker's sink)"
            )
        # Kept: the console shows these in the browser, so they name the failure's kind
        # only (a store's message may quote its address) and say what to do in one line.
        try:
            store = stores.reader(self._settings)
        except SinkError as err:
            raise NotStoredError(
                f"ClickHouse cannot be reached ({type(err).__name__}); try again later"
            ) from err
        try:
            return work(store)
        except SinkError as err:
            raise NotStoredError(
                f"ClickHouse could not answer ({type(err).__name__}); try again later"
            ) from err
        finally:
            store.close()

    def evidence(self, event_ids: Sequence[str]) -> tuple[list[dict[str, Any]], str]:
        """(the stored events with these ids, by table and time; a note).

        Raises ``NotStoredError``.
        """
        ids = [i for i in event_ids if i][:_MAX_IDS]
        if not ids:
            return [], "this alert has no evidence events"

        def find(store: Store) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            for table in EVIDENCE_TABLES:
                result = store.query(evidence_sql(table, ids))
                for row in result.rows:
                    values = zip(result.names, map(json_value, row), strict=True)
                    found.append({"table": table, **dict(values)})
            return found

        found = self._run(find)
        missing = len(ids) - len({e["event_id"] for e in found})
        note = f"{len(found)} stored event(s)"
        if missing:
            note += f"; {missing} not stored yet (the sink writes about every second)"
        return found, note

    def history(
        self, where: AlertFilter, limit: int, offset: int = 0
    ) -> tuple[int, list[StoredAlert]]:
        """(stored alerts matching, one page of them, newest event first).

        Raises ``NotStoredError``.
        """
        count_sql, page_sql = alert_history_sql(where, limit, offset)

        def search(store: Store) -> tuple[int, list[StoredAlert]]:
            total = int(store.query(count_sql).rows[0][0])
            page = store.query(page_sql)
            found = [_alert(page.names, row) for row in page.rows]
            return total, [a for a in found if a is not None]

        return self._run(search)

    def alert(self, alert_id: str) -> StoredAlert | None:
        """The stored alert with this id, or None. Raises ``NotStoredError``."""
        if not _ALERT_ID.match(alert_id):
            return None
        _total, found = self.history(AlertFilter(alert_ids=(alert_id,)), 1)
        return found[0] if found else None

    def trail(self, alert_id: str) -> list[dict[str, Any]]:
        """The alert's audit trail as ClickHouse holds it, oldest version first
        (``sinks.queries.ALERT_TRAIL``). Raises ``NotStoredError``."""
        if not _ALERT_ID.match(alert_id):
            return []

        def read(store: Store) -> list[dict[str, Any]]:
            result = store.query(ALERT_TRAIL.format(alert_id=alert_id))
            return [
                {name: json_value(value) for name, value in zip(result.names, row, strict=True)}
                for row in result.rows
            ]

        return self._run(read)
