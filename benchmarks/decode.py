"""Decode rate: ``schemas.decode`` against a consumer that only calls ``json.loads``.

Run ``.venv/bin/python benchmarks/decode.py [--events N] [--repeat R]``. Builds
realistic valid events (a district's mix: mostly scans, some patrol events and
reference records; valid ID numbers, nested travel and test objects), then
times each decoder over the same byte strings, best of R runs, one core. The
target (issue 2) is decode >= 50% of the ``json.loads`` rate.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.decode import Rejected, decode
from schemas.identity import check_character

__all__ = ["main", "sample_events"]

_CHECKPOINTS = ("jinjiguan-toll", "fengming-toll", "xikang-bridge", "yaan-north-toll", "caoba-toll")
_AREAS = ("510107", "511802", "510104", "500112", "420106", "110105")


def _person(rng: random.Random) -> str:
    body = f"5118{rng.randint(10, 99)}{rng.randint(1950, 2010)}{rng.randint(1, 12):02d}"
    body += f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + check_character(body)


def _time(rng: random.Random) -> str:
    return f"2022-10-14T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:07.250+08:00"


def _scan(rng: random.Random, i: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"ev-{i:08d}",
        "event_time": _time(rng),
        "person_id": _person(rng),
        "phone": f"138{rng.randint(0, 99_999_999):08d}",
        "health_code": rng.choice(("green", "green", "green", "yellow")),
        "travel": {"star": rng.random() < 0.05, "areas": rng.sample(_AREAS, 2)},
        "nat": {"result": "negative", "sampled_at": "2022-10-13T10:00:00+08:00"},
    }
    if rng.random() < 0.55:
        event |= {"feed": "checkpoint_scan", "checkpoint_id": rng.choice(_CHECKPOINTS)}
        event |= {"direction": rng.choice(("in", "out")), "plate": "川T12345"}
        event["temperature_c"] = round(rng.uniform(36.0, 37.5), 1)
    else:
        event |= {"feed": "venue_scan", "venue_id": f"venue-{rng.randint(1, 5000)}"}
        event |= {"role": "visitor", "temperature_c": 36.5, "mask": True}
    return event


def _other(rng: random.Random, i: int) -> dict[str, Any]:
    if rng.random() < 0.8:
        return {
            "feed": "patrol_event",
            "event_id": f"pe-{i:08d}",
            "event_time": _time(rng),
            "unit_id": "unit-7",
            "kind": "checkin",
            "site_id": rng.choice(_CHECKPOINTS),
            "location": {"lat": 30.02, "lon": 103.06},
        }
    return {"feed": "risk_area", "area_code": rng.choice(_AREAS), "name": "x", "level": "high"} | {
        "event_time": _time(rng)
    }


def sample_events(count: int, seed: int = 7) -> list[bytes]:
    """``count`` valid events as UTF-8 JSON bytes, about 90% scans."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    events = [_scan(rng, i) if rng.random() < 0.9 else _other(rng, i) for i in range(count)]
    return [json.dumps(e, ensure_ascii=False).encode() for e in events]


def _seconds(func: Callable[[bytes], object], lines: list[bytes]) -> float:
    start = time.perf_counter()
    for line in lines:
        func(line)
    return time.perf_counter() - start


def _rates(lines: list[bytes], repeat: int) -> tuple[float, float]:
    """Best events/s of json.loads and of decode, runs interleaved so that a
    busy machine slows both alike."""
    loads = decoded = float("inf")
    for _ in range(repeat):
        loads = min(loads, _seconds(json.loads, lines))
        decoded = min(decoded, _seconds(decode, lines))
    return len(lines) / loads, len(lines) / decoded


@click.command()
@click.option("--events", default=100_000, show_default=True, help="Events per run.")
@click.option("--repeat", default=5, show_default=True, help="Runs; the best counts.")
def main(events: int, repeat: int) -> None:
    """Print events/s of json.loads and of decode, and their ratio."""
    lines = sample_events(events)
    rejected = [r for r in map(decode, lines) if isinstance(r, Rejected)]
    if rejected:
        raise click.ClickException(f"sample events rejected: {rejected[0]}")
    size = sum(map(len, lines)) / len(lines)
    loads, decoded = _rates(lines, repeat)
    click.echo(f"{events:,} events, {size:.0f} bytes on average, best of {repeat}")
    click.echo(f"json.loads   {loads:>12,.0f} events/s")
    click.echo(f"decode       {decoded:>12,.0f} events/s  ({decoded / loads:.0%} of json.loads)")


if __name__ == "__main__":
    main()
