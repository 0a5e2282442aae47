"""A synthetic event file for the ingest benchmark when ``controlfeed generate`` is missing.

Called by ``benchmarks.ingest`` only as a fallback, and says so in its output.
The lines look like the feeds (the mix of a district: mostly checkpoint and
venue scans, some patrol events, a few reference records, 0.1 % malformed),
3-400 bytes each, in event-time order, deterministic in the seed. They are
not a scenario: no anomalies are planted and IDs carry no valid checksum.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

__all__ = ["write_synthetic"]

_TZ = dt.timezone(dt.timedelta(hours=8))
_CHECKPOINTS = ("jinjiguan-toll", "fengming-toll", "xikang-bridge", "yaan-north-toll", "caoba-toll")
_AREAS = ("510107", "511802", "510104", "500112", "420106", "110105")


def _event(rng: random.Random, i: int, when: str) -> dict[str, object]:
    person = f"5118021985{rng.randrange(10**7):07d}X"
    roll = rng.random()
    travel = {"star": roll < 0.01, "areas": rng.sample(_AREAS, 2)}
    nat = {"result": "negative", "sampled_at": "2022-10-13T10:00:00+08:00"}
    if roll < 0.45:
        return {
            "feed": "checkpoint_scan", "event_id": f"cp-{i:09d}", "event_time": when,
            "checkpoint_id": rng.choice(_CHECKPOINTS), "direction": rng.choice(("in", "out")),
            "person_id": person, "phone": f"138{rng.randrange(10**8):08d}", "plate": "川T12345",
            "temperature_c": round(rng.uniform(36.0, 37.0), 1), "health_code": "green",
            "travel": travel, "nat": nat,
        }  # fmt: skip
    if roll < 0.95:
        return {
            "feed": "venue_scan", "event_id": f"vs-{i:09d}", "event_time": when,
            "venue_id": f"v-{rng.randrange(5000):05d}", "person_id": person,
            "phone": f"139{rng.randrange(10**8):08d}", "role": "visitor", "health_code": "green",
            "temperature_c": 36.5, "mask": True, "travel": travel, "nat": nat,
        }  # fmt: skip
    if roll < 0.995:
        return {
            "feed": "patrol_event", "event_id": f"pe-{i:09d}", "event_time": when,
            "unit_id": f"unit-{rng.randrange(40):02d}", "kind": "checkin",
            "site_id": rng.choice(_CHECKPOINTS), "location": {"lat": 29.99, "lon": 103.0},
        }  # fmt: skip
    return {
        "feed": "venue", "venue_id": f"v-{rng.randrange(5000):05d}", "name": "药房",
        "type": "pharmacy", "grid": "qingjiang-3", "lat": 29.99, "lon": 103.01,
        "capacity": 30, "status": "open", "event_time": when,
    }  # fmt: skip


def write_synthetic(path: Path, events: int, seed: int = 7) -> int:
    """Write ``events`` lines to ``path`` (plain JSON Lines); return the bytes written."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    start = dt.datetime(2022, 10, 14, 8, 0, tzinfo=_TZ)
    size = 0
    with path.open("wb") as out:
        for i in range(events):
            when = (start + dt.timedelta(milliseconds=i * 7)).isoformat(timespec="milliseconds")
            if rng.random() < 0.001:
                line = b'{"feed":"checkpoint_scan","event_id":"broken-' + str(i).encode() + b'",'
            else:
                line = json.dumps(_event(rng, i, when), ensure_ascii=False).encode()
            out.write(line + b"\n")
            size += len(line) + 1
    return size
