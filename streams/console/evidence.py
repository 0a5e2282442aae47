"""The evidence events of an alert, read from ClickHouse for the console's detail view.

Called by ``GET /api/alerts/{id}`` (``streams.console.app``) on a thread. The
sink stores every valid event once (``docs/storage.md``), pseudonymised and
masked, so the rows shown are what ClickHouse holds: ``person_key``,
``person_masked``, ``phone_masked``, never a raw number. It needs a ClickHouse
server (``CONTROLFEED_CLICKHOUSE_URL``): the embedded chDB store belongs to the
worker's sink process. Without one, or when the server cannot be reached,
``find`` says so in words (no URL or password in them) and the console goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sinks import open_store
from sinks.exceptions import SinkError
from streams.settings import Settings

__all__ = ["Evidence"]

_TABLES: Final = ("checkpoint_scans", "venue_scans", "patrol_events")
_MAX_IDS: Final = 50


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


class Evidence:
    """Finds evidence events in the configured ClickHouse server; see the module docstring."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.clickhouse_url
        self._data_dir = settings.data_dir

    def find(self, event_ids: Sequence[str]) -> tuple[list[dict[str, Any]] | None, str]:
        """(the stored events with these ids, by table and time; a note) or (None, why not)."""
        if not self._url:
            return None, (
                "evidence events are read from a ClickHouse server: set "
                "CONTROLFEED_CLICKHOUSE_URL (the embedded store belongs to the worker's sink)"
            )
        ids = [i for i in event_ids if i][:_MAX_IDS]
        if not ids:
            return [], "this alert has no evidence events"
        try:
            store = open_store(self._url, self._data_dir / "chdb")
        except SinkError as err:
            return None, f"ClickHouse cannot be reached ({type(err).__name__}); try again later"
        try:
            found: list[dict[str, Any]] = []
            wanted = ", ".join(_quoted(i) for i in ids)
            for table in _TABLES:
                result = store.query(
                    f"SELECT * FROM {table} FINAL WHERE event_id IN ({wanted}) "  # noqa: S608 (quoted)
                    "ORDER BY event_time, event_id"
                )
                for row in result.rows:
                    found.append({"table": table} | {
                        name: _json(value) for name, value in zip(result.names, row, strict=True)
                    })  # fmt: skip
        except SinkError as err:
            return None, f"ClickHouse could not answer ({type(err).__name__}); try again later"
        finally:
            store.close()
        missing = len(ids) - len({e["event_id"] for e in found})
        note = f"{len(found)} stored event(s)"
        if missing:
            note += f"; {missing} not stored yet (the sink writes about every second)"
        return found, note
