"""Malformed lines: every reason kind, at the labelled lines, broken as labelled."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from schemas import Rejected, decode
from streams.devtools.scenario import ScenarioOptions, generate_to, labels_path_for
from streams.devtools.scenario.malformed import MALFORMED_KINDS

OPTIONS = ScenarioOptions(
    seed=21, duration_s=2 * 3600, population=2000, rate=1.0, anomaly_rate=0.01, malformed_rate=0.05
)
FEEDS = {"checkpoint_scan", "venue_scan", "patrol_event", "risk_area", "venue"}
ENUMS = {
    "direction": {"in", "out"},
    "health_code": {"green", "yellow", "red", "none"},
    "role": {"visitor", "staff"},
    "kind": {"checkin", "incident_reported", "dispatched", "arrived", "resolved", "inspection"},
    "level": {"low", "medium", "high"},
    "type": {
        "pharmacy", "restaurant", "hotel", "mahjong", "bus_station", "mall", "supermarket",
        "residential", "construction_site", "police_station", "other",
    },
    "category": {"fever", "cough", "antiviral", "antibiotic", "other"},
}  # fmt: skip


def _id_ok(value: Any) -> bool:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    if not isinstance(value, str) or len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], weights, strict=True))
    return "10X98765432"[total % 11] == value[17]


def _outside(allowed: set[str]) -> Callable[[Any], bool]:
    return lambda value: value not in allowed


def _time_ok(value: Any) -> bool:
    return isinstance(value, str) and (value.endswith("Z") or value[-6] in "+-")


BAD: dict[str, Callable[[Any], bool]] = {
    "event_id": lambda v: not (isinstance(v, str) and 1 <= len(v) <= 64),
    "event_time": lambda v: not _time_ok(v),
    "person_id": lambda v: not _id_ok(v),
    "phone": lambda v: not (isinstance(v, str) and len(v) == 11 and v.isdigit()),
    "temperature_c": lambda v: not (isinstance(v, float | int) and 34.0 <= v <= 43.0),
    "mask": lambda v: not (v is None or isinstance(v, bool)),
    "star": lambda v: not isinstance(v, bool),
    "passed": lambda v: not isinstance(v, bool),
    "sampled_at": lambda v: not _time_ok(v),
    "lat": lambda v: not isinstance(v, float | int),
    "capacity": lambda v: not isinstance(v, int),
    **{name: _outside(allowed) for name, allowed in ENUMS.items()},
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], dict[int, str]]:
    path = tmp_path_factory.mktemp("bad") / "bad.jsonl"
    generate_to(path, OPTIONS)
    labels = json.loads(labels_path_for(path).read_text())
    return path.read_bytes().split(b"\n")[:-1], {
        m["line"]: m["reason"] for m in labels["malformed"]
    }


def _at(record: dict[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def _broken_as_labelled(line: bytes, reason: str) -> bool:
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return reason == "invalid_json"
    if not isinstance(record, dict):
        return reason == "not_an_object"
    if reason == "missing_field:feed":
        return "feed" not in record
    if reason == "unknown_feed":
        return record.get("feed") not in FEEDS
    kind, _, field = reason.partition(":")
    present, value = _at(record, field)
    if kind == "missing_field":
        return not present and record.get("feed") in FEEDS
    return present and BAD[field.split(".")[-1]](value)


def test_every_reason_kind_appears(generated: tuple[list[bytes], dict[int, str]]) -> None:
    reasons = set(generated[1].values())

    assert {"invalid_json", "not_an_object", "missing_field:feed", "unknown_feed"} <= reasons
    assert len([r for r in reasons if r.startswith("missing_field:")]) >= 8
    assert len([r for r in reasons if r.startswith("bad_value:")]) >= 15
    assert len(generated[1]) >= len(MALFORMED_KINDS)


def test_labelled_lines_are_broken_as_labelled(
    generated: tuple[list[bytes], dict[int, str]],
) -> None:
    lines, malformed = generated

    wrong = [(n, r) for n, r in malformed.items() if not _broken_as_labelled(lines[n - 1], r)]

    assert not wrong


def test_malformed_lines_keep_their_feed_when_they_can(
    generated: tuple[list[bytes], dict[int, str]],
) -> None:
    lines, malformed = generated
    kept = [
        json.loads(lines[n - 1]).get("feed") in FEEDS
        for n, r in malformed.items()
        if r.startswith(("missing_field:", "bad_value:")) and r != "missing_field:feed"
    ]

    assert kept and all(kept)


def test_schemas_decode_agrees_line_by_line(generated: tuple[list[bytes], dict[int, str]]) -> None:
    lines, malformed = generated
    disagreements = []
    for n, line in enumerate(lines, 1):
        result = decode(line)
        got = result.reason if isinstance(result, Rejected) else None
        if got != malformed.get(n):
            disagreements.append((n, malformed.get(n), got))

    assert not disagreements[:20]
