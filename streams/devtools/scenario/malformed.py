"""Malformed lines: bad input of every reason kind of docs/rules.md, one problem each.

``plan_malformed`` scatters them over the scenario; each is a valid record of
some feed with exactly one thing broken, so its reason is unambiguous: the
field the reason names is the only problem on the line. They keep ``feed``
whenever the reason allows. The writer gives each its line number (and, if it
carries an event id, the next number of its feed), and the labels list the
line with its expected reason.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from streams.devtools.scenario.clock import iso
from streams.devtools.scenario.context import Context
from streams.devtools.scenario.people import HOME_COUNTY
from streams.devtools.scenario.tracked import (
    TAG_MALFORMED,
    Tracked,
    checkpoint_scan,
    patrol_event,
    venue_scan,
)

__all__ = ["MALFORMED_KINDS", "plan_malformed"]

Record = dict[str, Any]
DROP = object()
"""A spec's value meaning "leave the field out"."""


def _dump(record: object) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def _base(kind: str, t: int, person_id: str) -> Record:
    """A valid record to break: cp, vs, pe-<kind>, risk or venue."""
    if kind == "cp":
        data = checkpoint_scan(t, "jinjiguan-toll", "in", (person_id, "13800001234"))
        data["travel"] = {"star": False, "areas": [HOME_COUNTY]}
        return data
    if kind == "vs":
        return venue_scan(t, "yaan-bus-station", (person_id, "13900005678"))
    if kind == "pe-report":
        fields = {"incident_id": "inc-x", "incident_type": "dispute"}
        return patrol_event(t, "yc-command", "incident_reported", **fields)
    if kind == "pe-inspection":
        inspection = {"target_id": "yaan-bus-station", "passed": True, "issues": []}
        return patrol_event(t, "yc-patrol-01", "inspection", inspection=inspection)
    if kind.startswith("pe-"):
        return patrol_event(t, "yc-patrol-01", kind[3:], incident_id="inc-x")
    if kind == "risk":
        record = {"feed": "risk_area", "area_code": "650102", "name": "乌鲁木齐市天山区"}
        return {**record, "level": "high", "event_time": iso(t)}
    return {
        "feed": "venue", "venue_id": "canping-ot-999", "name": "苍坪茶馆", "type": "other",
        "grid": "qingjiang-canping", "lat": 29.9935, "lon": 103.008, "capacity": 40,
        "status": "open", "event_time": iso(t),
    }  # fmt: skip


def _bad_check(person_id: str) -> str:
    wrong = "0123456789X".replace(person_id[17], "")
    return person_id[:17] + wrong[int(person_id[16]) % len(wrong)]


_NO_OFFSET = "2022-10-14T08:31:07.250"
_VITAMINS = {"category": "vitamins", "registered": True}
_NOT_BOOL = {"target_id": "yaan-bus-station", "passed": "no", "issues": []}
_SPECS: tuple[tuple[str, str, str, object], ...] = (
    # reason, base record, field, new value (DROP: remove it)
    ("missing_field:feed", "vs", "feed", DROP),
    ("unknown_feed", "vs", "feed", "venue_scans"),
    ("missing_field:event_id", "vs", "event_id", DROP),
    ("missing_field:event_time", "cp", "event_time", DROP),
    ("missing_field:checkpoint_id", "cp", "checkpoint_id", DROP),
    ("missing_field:health_code", "vs", "health_code", DROP),
    ("missing_field:travel.star", "cp", "travel", {"areas": [HOME_COUNTY]}),
    ("missing_field:incident_id", "pe-dispatched", "incident_id", DROP),
    ("missing_field:incident_type", "pe-report", "incident_type", DROP),
    ("missing_field:inspection", "pe-inspection", "inspection", DROP),
    ("missing_field:level", "risk", "level", DROP),
    ("missing_field:capacity", "venue", "capacity", DROP),
    ("bad_value:event_id", "vs", "event_id", ""),
    ("bad_value:event_time", "vs", "event_time", _NO_OFFSET),
    ("bad_value:phone", "vs", "phone", "1380013"),
    ("bad_value:temperature_c", "cp", "temperature_c", 45.6),
    ("bad_value:temperature_c", "cp", "temperature_c", None),
    ("bad_value:direction", "cp", "direction", "inbound"),
    ("bad_value:health_code", "vs", "health_code", "blue"),
    ("bad_value:role", "vs", "role", "guest"),
    ("bad_value:mask", "vs", "mask", "yes"),
    ("bad_value:travel.star", "cp", "travel", {"star": "yes", "areas": [HOME_COUNTY]}),
    ("bad_value:nat.sampled_at", "vs", "nat", {"result": "negative", "sampled_at": _NO_OFFSET}),
    ("bad_value:purchase.category", "vs", "purchase", _VITAMINS),
    ("bad_value:kind", "pe-checkin", "kind", "checkout"),
    ("bad_value:inspection.passed", "pe-inspection", "inspection", _NOT_BOOL),
    ("bad_value:level", "risk", "level", "extreme"),
    ("bad_value:type", "venue", "type", "karaoke"),
    ("bad_value:lat", "venue", "lat", "29.9935"),
    ("bad_value:capacity", "venue", "capacity", "many"),
)  # fmt: skip
"""Every reason but the first two (invalid_json, not_an_object) and bad_value:person_id."""

Render = Callable[[str], bytes]
_ID_FEEDS = {"cp": "checkpoint_scan", "vs": "venue_scan", "pe-": "patrol_event"}


def _from_spec(base: str, name: str, value: object, t: int, person_id: str) -> tuple[str, Render]:
    record = _base(base, t, person_id)
    if value is DROP:
        del record[name]
    else:
        record[name] = value
    takes_id = record.get("event_id") == "" and not (name == "event_id" and value == "")
    id_feed = next((f for b, f in _ID_FEEDS.items() if base.startswith(b)), "") if takes_id else ""
    return id_feed, lambda event_id: _dump({**record, "event_id": event_id} if id_feed else record)


def _special(reason: str, t: int, person_id: str) -> tuple[str, Render]:
    if reason == "invalid_json":  # cut in half, as a lost packet would leave it
        record = _base("vs", t, person_id)
        return "venue_scan", lambda event_id: _dump({**record, "event_id": event_id})[:120]
    if reason == "invalid_json (not UTF-8)":
        return "", lambda _event_id: b'{"feed":"venue_scan","note":"\xff\xfe\xfd"}'
    if reason == "not_an_object":
        line = _dump([_base("cp", t, person_id)])
        return "", lambda _event_id: line
    record = _base("cp", t, person_id)
    record["person_id"] = _bad_check(person_id)
    return "checkpoint_scan", lambda event_id: _dump({**record, "event_id": event_id})


MALFORMED_KINDS: tuple[str, ...] = (
    "invalid_json",
    "invalid_json (not UTF-8)",
    "not_an_object",
    "bad_value:person_id",
    *(f"{k}#{reason}" for k, (reason, *_rest) in enumerate(_SPECS)),
)
"""The ways, each labelled with the reason before any ``#`` or `` (``."""


def _reason(kind: str) -> str:
    return kind.split("#")[-1].split(" (")[0]


def _make(kind: str, t: int, person_id: str) -> tuple[str, Render]:
    if "#" not in kind:
        return _special(kind, t, person_id)
    _, base, name, value = _SPECS[int(kind.split("#")[0])]
    return _from_spec(base, name, value, t, person_id)


def plan_malformed(ctx: Context, count: int, rng: random.Random) -> None:
    """Scatter ``count`` malformed lines over the scenario, every way once per round."""
    order: list[str] = []
    while len(order) < count:
        round_ = list(MALFORMED_KINDS)
        rng.shuffle(round_)
        order.extend(round_)
    for kind in order[:count]:
        t = rng.randrange(ctx.start, ctx.end)
        item = Tracked(t, TAG_MALFORMED)
        item.id_feed, item.render = _make(kind, t, ctx.world.ids.new_id())
        item.reason = _reason(kind)
        ctx.plan.add(item)
