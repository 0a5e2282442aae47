"""Events, alerts and dead letters for the sink's tests, built the way the worker builds them.

Raw records are decoded (``schemas.decode``) and pseudonymised with a fixed
test key, so the rows carry exactly what ingest would hand the sink. The raw
ID and phone numbers used are exported, for the tests that scan the stored
columns for them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from schemas.alert_state import AlertState
from schemas.alerts import Alert, alert_id
from schemas.clean import CleanEvent, pseudonymise
from schemas.deadletter import DeadLetter
from schemas.decode import Rejected, decode
from sinks.exceptions import StoreUnavailableError
from sinks.store import QueryResult

__all__ = [
    "CST",
    "KEY",
    "RAW_IDS",
    "RAW_PHONES",
    "FakeStore",
    "alert",
    "checkpoint_scan",
    "dead_letter",
    "event",
    "patrol_event",
    "risk_area",
    "venue",
    "venue_scan",
]

CST: Final = ZoneInfo("Asia/Shanghai")
KEY: Final = b"sink-test-key"
RAW_IDS: Final = ("511802198503120017", "511802199001010023")
RAW_PHONES: Final = ("13800001234", "13911112222")


def event(record: dict[str, Any]) -> CleanEvent:
    """The clean event of a raw record (which must be valid)."""
    decoded = decode(json.dumps(record))
    assert not isinstance(decoded, Rejected), decoded
    return pseudonymise(decoded, KEY)


def _time(at: datetime) -> str:
    return at.astimezone(CST).isoformat(timespec="milliseconds")


def checkpoint_scan(event_id: str, at: datetime, checkpoint: str = "jinjiguan-toll") -> CleanEvent:
    """A checkpoint scan of a person with an ID number and a phone."""
    return event(
        {
            "feed": "checkpoint_scan",
            "event_id": event_id,
            "event_time": _time(at),
            "checkpoint_id": checkpoint,
            "direction": "in",
            "person_id": RAW_IDS[0],
            "phone": RAW_PHONES[0],
            "plate": "川T12345",
            "temperature_c": 36.6,
            "health_code": "green",
            "travel": {"star": False, "areas": ["510107", "511802"]},
            "nat": {"result": "negative", "sampled_at": _time(at - timedelta(days=1))},
        }
    )


def venue_scan(event_id: str, at: datetime, venue: str = "v-pharmacy", **fields: Any) -> CleanEvent:
    """A visitor's venue scan with a temperature; ``fields`` override any field."""
    record: dict[str, Any] = {
        "feed": "venue_scan",
        "event_id": event_id,
        "event_time": _time(at),
        "venue_id": venue,
        "person_id": RAW_IDS[1],
        "phone": RAW_PHONES[1],
        "role": "visitor",
        "health_code": "green",
        "temperature_c": 36.5,
        "mask": True,
    }
    record.update(fields)
    return event(record)


def patrol_event(event_id: str, at: datetime) -> CleanEvent:
    """A failed inspection of the pharmacy."""
    return event(
        {
            "feed": "patrol_event",
            "event_id": event_id,
            "event_time": _time(at),
            "unit_id": "unit-7",
            "kind": "inspection",
            "location": {"lat": 29.98, "lon": 103.0},
            "inspection": {"target_id": "v-pharmacy", "passed": False, "issues": ["no log"]},
        }
    )


def risk_area(at: datetime) -> CleanEvent:
    """A high-risk listing."""
    return event(
        {
            "feed": "risk_area",
            "area_code": "510107",
            "name": "Wuhou",
            "level": "high",
            "event_time": _time(at),
        }
    )


def venue(venue_id: str, kind: str, at: datetime) -> CleanEvent:
    """A venue-register record."""
    return event(
        {
            "feed": "venue",
            "venue_id": venue_id,
            "name": f"venue {venue_id}",
            "type": kind,
            "grid": "qingjiang-3",
            "lat": 29.98,
            "lon": 103.0,
            "capacity": 40,
            "status": "open",
            "event_time": _time(at),
        }
    )


def alert(evidence: str, at: datetime, grid: str | None = "qingjiang-3") -> Alert:
    """A fever alert about a person, with one piece of evidence."""
    person_key = "a" * 64
    return Alert(
        alert_id=alert_id("fever", "warning", [evidence], at, person_key),
        rule="fever",
        severity="warning",
        subject="person",
        event_time=at,
        evidence=(evidence,),
        venue_id="v-pharmacy",
        grid=grid,
        person_key=person_key,
        person_masked="5***************17",
        message="A visitor had a fever.",
    )


def dead_letter(offset: int, at: datetime) -> DeadLetter:
    """A rejected checkpoint scan whose payload held a raw ID and phone (redacted here)."""
    raw = json.dumps(
        {"feed": "checkpoint_scan", "person_id": RAW_IDS[0], "phone": RAW_PHONES[0]}
    ).encode()
    return DeadLetter.from_record(
        raw,
        Rejected("missing_field:event_id", "checkpoint_scan", "Field required"),
        topic="feeds.checkpoint-scans",
        partition=2,
        offset=offset,
        timestamp=at,
    )


class FakeStore:
    """Records inserted blocks; fails the tables listed in ``failing``."""

    description = "fake"

    def __init__(self) -> None:
        self.blocks: list[tuple[str, list[list[Any]]]] = []
        self.failing: set[str] = set()

    def execute(self, sql: str) -> None:
        raise NotImplementedError

    def query(self, sql: str) -> QueryResult:
        raise NotImplementedError

    def insert(self, table: str, columns: Sequence[Sequence[Any]]) -> None:
        if table in self.failing:
            raise StoreUnavailableError("down")
        self.blocks.append((table, [list(c) for c in columns]))

    def close(self) -> None:
        pass


def alert_action(n: int, at: datetime, note: str | None = "sent team 3") -> AlertState:
    """An operator's action on an alert, as the console writes it to the alert-state topic."""
    return AlertState(
        alert_id=f"{n:032x}", version=1 + n % 3, status="acknowledged", action="ack",
        action_id=f"{n + 7:032x}", actor="li.wei", at=at, note=note,
        assignee=None if n % 2 else "zhang.san",
    )  # fmt: skip
