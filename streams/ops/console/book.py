"""What one console knows: the alerts, their states, and the stream of changes for browsers.

Filled by ``streams.ops.console.follow`` (a thread per topic) and read by the API
(``streams.ops.console.app``) from the event loop, so every method takes the one
lock. Alerts are kept in arrival order, each once (the alerts topic is read
with read_committed, and an alert id seen twice is ignored); the newest
``max_alerts`` stay in memory, older ones are ClickHouse's to show. Every
change (a new alert, a new state) gets a sequence number in the change log,
which the stream (``GET /api/stream``) sends with ``id: <epoch>.<seq>``: a
browser that reconnects with ``Last-Event-ID`` gets exactly what it missed,
or a ``reset`` when this console cannot tell (another console process, a
restart, or more missed than the log keeps).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from schemas.alert_state import AlertState, Status
from schemas.alerts import Alert
from schemas.feeds import Venue
from streams.ops.console.lifecycle import States

__all__ = ["Book", "Change", "Query"]

_LOG: Final = 100_000
"""Changes the stream can replay to a reconnecting browser."""


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change log."""

    seq: int
    """Its sequence number in this console process."""
    kind: Literal["alert", "state"]
    """A new alert, or a new state of one."""
    alert_id: str
    """The alert."""


@dataclass(frozen=True, slots=True)
class Query:
    """The filters of ``GET /api/alerts`` (every one optional; all must match)."""

    rule: frozenset[str] = frozenset()
    severity: frozenset[str] = frozenset()
    status: frozenset[str] = frozenset()
    grid: frozenset[str] = frozenset()
    place: str | None = None
    """A venue, checkpoint, site or incident id."""
    since: datetime | None = None
    """Event time at or after."""
    until: datetime | None = None
    """Event time before."""
    q: str | None = None
    """Text found (case-insensitive) in the message, rule, ids or masked person."""


class Book:
    """The console's memory; see the module docstring."""

    def __init__(self, max_alerts: int = 50_000, place_names: dict[str, str] | None = None) -> None:
        """``place_names``: names of the fixed places (checkpoints, sites) by id; venues are
        named from the venue register as it is read."""
        self._place_names = dict(place_names or {})
        self.epoch = uuid.uuid4().hex[:8]
        """Names this process's change log in stream ids."""
        self._max = max_alerts
        self._lock = threading.Lock()
        self._alerts: dict[str, Alert] = {}
        self._arrived: dict[str, float] = {}
        self._states = States()
        self._log: deque[Change] = deque(maxlen=_LOG)
        self._seq = 0
        self._venues: dict[str, Venue] = {}
        self.ready = threading.Event()
        """Set once both topics were read to the ends they had when the console started."""

    # ------------------------------------------------------------------ writers

    def add_alert(self, alert: Alert, arrived: float | None = None) -> bool:
        """Take an alert read from the alerts topic; False when it was known already."""
        with self._lock:
            if alert.alert_id in self._alerts:
                return False
            self._alerts[alert.alert_id] = alert
            self._arrived[alert.alert_id] = time.time() if arrived is None else arrived
            while len(self._alerts) > self._max:
                old = next(iter(self._alerts))
                del self._alerts[old], self._arrived[old]
            self._note("alert", alert.alert_id)
            return True

    def add_state(self, record: AlertState) -> bool:
        """Take a record read from the alert-state topic; whether it was applied."""
        with self._lock:
            applied = self._states.apply(record)
            if applied:
                self._note("state", record.alert_id)
            return applied

    def add_venue(self, venue: Venue) -> bool:
        """Take a record of the venue register (the map's venues); the newest per venue wins."""
        with self._lock:
            known = self._venues.get(venue.venue_id)
            if known is not None and known.event_time > venue.event_time:
                return False
            self._venues[venue.venue_id] = venue
            return True

    def venues(self) -> list[Venue]:
        """Every venue of the register as last read."""
        with self._lock:
            return list(self._venues.values())

    def open_by_place(self) -> dict[str, tuple[int, int, str | None]]:
        """Per place id (venue, checkpoint, site): (open alerts, critical ones, the grid)."""
        with self._lock:
            out: dict[str, tuple[int, int, str | None]] = {}
            for alert in self._alerts.values():
                if self._states.status(alert.alert_id) in ("resolved", "dismissed"):
                    continue
                place = alert.venue_id or alert.checkpoint_id or alert.site_id
                if place is None:
                    continue
                n, critical, grid = out.get(place, (0, 0, alert.grid))
                out[place] = (n + 1, critical + (alert.severity == "critical"), grid or alert.grid)
            return out

    def _note(self, kind: Literal["alert", "state"], alert_id: str) -> None:
        self._seq += 1
        self._log.append(Change(self._seq, kind, alert_id))

    # ------------------------------------------------------------------ readers

    @property
    def seq(self) -> int:
        """The newest change's sequence number (0: none yet)."""
        with self._lock:
            return self._seq

    def since(self, seq: int) -> list[Change] | None:
        """The changes after ``seq``; None when the log no longer holds them all."""
        with self._lock:
            if seq > self._seq:
                return None
            if seq == self._seq:
                return []
            if not self._log or self._log[0].seq > seq + 1:
                return None
            start = seq + 1 - self._log[0].seq
            return [self._log[i] for i in range(start, len(self._log))]

    def state(self, alert_id: str) -> AlertState | None:
        """The alert's newest state, or None (it is ``new``)."""
        with self._lock:
            return self._states.current.get(alert_id)

    def trail(self, alert_id: str) -> list[AlertState]:
        """The alert's applied state records, oldest first, as this console read them."""
        with self._lock:
            return list(self._states.trails.get(alert_id, ()))

    def outcome(self, action_id: str) -> bool | None:
        """Whether the action was applied, None while it has not been read yet."""
        with self._lock:
            return self._states.outcomes.get(action_id)

    def view(self, alert_id: str) -> dict[str, Any] | None:
        """The alert as the API shows it (with its status), or None when unknown here."""
        with self._lock:
            alert = self._alerts.get(alert_id)
            return None if alert is None else self._view(alert)

    def stored_view(
        self, alert: Alert, status: str, version: int, assignee: str | None
    ) -> dict[str, Any]:
        """An alert read from ClickHouse as the API shows it, ``"stored": true``.

        The state this console read from the alert-state topic wins over the stored one
        when it is as new or newer (the sink writes about every second); ``arrived_at``
        is None unless the alert is in memory too.
        """
        with self._lock:
            return self._view(alert, (status, version, assignee)) | {"stored": True}

    def _view(
        self, alert: Alert, stored: tuple[str, int, str | None] | None = None
    ) -> dict[str, Any]:
        state = self._states.current.get(alert.alert_id)
        out = alert.model_dump(mode="json")
        if state is not None and (stored is None or state.version >= stored[1]):
            out["status"], out["version"], out["assignee"] = (
                state.status, state.version, state.assignee,
            )  # fmt: skip
        elif stored is not None:
            out["status"], out["version"], out["assignee"] = stored
        else:
            out["status"], out["version"], out["assignee"] = "new", 0, None
        arrived = self._arrived.get(alert.alert_id)
        out["arrived_at"] = None if arrived is None else round(arrived, 3)
        place = alert.venue_id or alert.checkpoint_id or alert.site_id
        venue = self._venues.get(place or "")
        out["place_name"] = venue.name if venue is not None else self._place_names.get(place or "")
        return out

    def query(self, query: Query, limit: int, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """(alerts matching, one page of them): newest arrival first."""
        with self._lock:
            found = [a for a in reversed(self._alerts.values()) if self._matches(a, query)]
            return len(found), [self._view(a) for a in found[offset : offset + limit]]

    def counts(self) -> dict[str, Any]:
        """Alerts by status and, of the open ones, by severity; for the title and health."""
        with self._lock:
            by_status: dict[Status, int] = dict.fromkeys(
                ("new", "acknowledged", "assigned", "resolved", "dismissed"), 0
            )
            unacked_critical = 0
            for alert in self._alerts.values():
                status = self._states.status(alert.alert_id)
                by_status[status] += 1
                if status == "new" and alert.severity == "critical":
                    unacked_critical += 1
            return {
                "alerts": len(self._alerts),
                "by_status": by_status,
                "unacknowledged_critical": unacked_critical,
            }

    def _matches(self, alert: Alert, q: Query) -> bool:
        if q.rule and alert.rule not in q.rule:
            return False
        if q.severity and alert.severity not in q.severity:
            return False
        if q.status and self._states.status(alert.alert_id) not in q.status:
            return False
        if q.grid and (alert.grid or "") not in q.grid:
            return False
        places = (alert.venue_id, alert.checkpoint_id, alert.site_id, alert.incident_id)
        if q.place and q.place not in places:
            return False
        if q.since is not None and alert.event_time < q.since:
            return False
        if q.until is not None and alert.event_time >= q.until:
            return False
        if q.q:
            hay = " ".join(_text(alert)).lower()
            if q.q.lower() not in hay:
                return False
        return True


def _text(alert: Alert) -> Iterable[str]:
    yield alert.message
    yield alert.rule
    yield alert.alert_id
    for value in (alert.venue_id, alert.checkpoint_id, alert.site_id, alert.incident_id,
                  alert.grid, alert.person_masked):  # fmt: skip
        if value:
            yield value
