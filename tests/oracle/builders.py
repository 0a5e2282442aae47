"""Tiny builders of valid feed records (plain dicts, as parsed from an event file) for tests.

Times: a `Moment` is an ISO string, an aware datetime, or a number of seconds after `T0`
(2022-10-14 08:00 local time, UTC+08:00).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.oracle.model import Alert
from tests.oracle.world import LOCAL_TZ

Moment = str | datetime | float
Event = dict[str, Any]

T0 = datetime(2022, 10, 14, 8, 0, tzinfo=LOCAL_TZ)
MINUTE, HOUR, DAY = 60, 3600, 86400

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def iso(moment: Moment) -> str:
    if isinstance(moment, str):
        return moment
    if isinstance(moment, datetime):
        return moment.isoformat()
    return (T0 + timedelta(seconds=moment)).isoformat()


def time_of(moment: Moment) -> datetime:
    return datetime.fromisoformat(iso(moment))


def person(n: int = 1) -> str:
    """A valid 18-character resident ID (Ya'an, born 1985-03-12, sequence `n`)."""
    body = f"51180219850312{n % 1000:03d}"
    total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


PERSON = person(1)


def travel(*areas: str, star: bool = False) -> dict[str, Any]:
    return {"star": star, "areas": list(areas)}


def nat(sampled_at: Moment, result: str = "negative") -> dict[str, Any]:
    return {"result": result, "sampled_at": iso(sampled_at)}


def checkpoint_scan(
    event_id: str,
    at: Moment,
    *,
    checkpoint_id: str = "jinjiguan-toll",
    direction: str = "in",
    person_id: str | None = PERSON,
    temperature_c: float = 36.6,
    health_code: str = "green",
    travel: dict[str, Any] | None = None,
    **extra: Any,
) -> Event:
    return {
        "feed": "checkpoint_scan",
        "event_id": event_id,
        "event_time": iso(at),
        "checkpoint_id": checkpoint_id,
        "direction": direction,
        "person_id": person_id,
        "temperature_c": temperature_c,
        "health_code": health_code,
        "travel": travel if travel is not None else {"star": False, "areas": []},
        **extra,
    }


def venue_scan(
    event_id: str,
    at: Moment,
    *,
    venue_id: str = "v-1",
    person_id: str | None = PERSON,
    role: str = "visitor",
    health_code: str = "green",
    temperature_c: float | None = 36.5,
    mask: bool | None = True,
    **extra: Any,
) -> Event:
    """`extra` carries the optional fields: `travel`, `nat`, `purchase`, `phone`."""
    return {
        "feed": "venue_scan",
        "event_id": event_id,
        "event_time": iso(at),
        "venue_id": venue_id,
        "person_id": person_id,
        "role": role,
        "health_code": health_code,
        "temperature_c": temperature_c,
        "mask": mask,
        **extra,
    }


def purchase(category: str = "fever", registered: bool = True) -> dict[str, Any]:
    return {"category": category, "registered": registered}


def patrol_event(event_id: str, at: Moment, kind: str, **fields: Any) -> Event:
    return {
        "feed": "patrol_event",
        "event_id": event_id,
        "event_time": iso(at),
        "unit_id": "unit-1",
        "kind": kind,
        **fields,
    }


def checkin(event_id: str, at: Moment, site_id: str = "jinjiguan-toll") -> Event:
    return patrol_event(event_id, at, "checkin", site_id=site_id)


def incident(
    event_id: str, at: Moment, incident_id: str = "inc-1", incident_type: str = "rumor"
) -> Event:
    return patrol_event(
        event_id, at, "incident_reported", incident_id=incident_id, incident_type=incident_type
    )


def stage(event_id: str, at: Moment, kind: str, incident_id: str = "inc-1") -> Event:
    """`dispatched`, `arrived` or `resolved` for an incident."""
    return patrol_event(event_id, at, kind, incident_id=incident_id)


def inspection(event_id: str, at: Moment, target_id: str = "v-1", passed: bool = False) -> Event:
    issues = [] if passed else ["no temperature checks"]
    return patrol_event(
        event_id,
        at,
        "inspection",
        inspection={"target_id": target_id, "passed": passed, "issues": issues},
    )


def risk_area(at: Moment, area_code: str = "510107", level: str = "high") -> Event:
    return {
        "feed": "risk_area",
        "area_code": area_code,
        "name": f"area {area_code}",
        "level": level,
        "event_time": iso(at),
    }


def venue(
    at: Moment,
    venue_id: str = "v-1",
    *,
    type: str = "pharmacy",  # the field name of the feed
    status: str = "open",
    capacity: int = 50,
    lat: float = 29.9880,
    lon: float = 103.0010,
    grid: str = "qingjiang-1",
) -> Event:
    return {
        "feed": "venue",
        "venue_id": venue_id,
        "name": f"venue {venue_id}",
        "type": type,
        "grid": grid,
        "lat": lat,
        "lon": lon,
        "capacity": capacity,
        "status": status,
        "event_time": iso(at),
    }


def clock(event_id: str, at: Moment) -> Event:
    """An event that only moves the stream's time forward: it fires no rule."""
    return checkpoint_scan(event_id, at, direction="out", person_id=None)


def keys_of(alerts: list[Alert], rule: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The `(rule, severity, evidence)` of the alerts of one rule, in order."""
    return [alert.key for alert in alerts if alert.rule == rule]


def of_rule(alerts: list[Alert], rule: str) -> list[Alert]:
    return [alert for alert in alerts if alert.rule == rule]
