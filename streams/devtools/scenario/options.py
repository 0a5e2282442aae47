"""The options of a scenario and their validation.

Built by the ``controlfeed generate`` command (from its flags) or by a caller of
``generate_to`` (benchmarks, tests). Every problem raises ``ScenarioError`` naming
the option and saying what a good value looks like; the CLI prints it with exit 2.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from streams.exceptions import ControlfeedError

__all__ = [
    "DEFAULT_START",
    "GENERATOR_VERSION",
    "ScenarioError",
    "ScenarioOptions",
    "format_duration",
    "labels_path_for",
    "parse_duration",
    "parse_start",
    "seeded",
]

GENERATOR_VERSION = 1
"""Bumped whenever the same options start giving different bytes."""

LOCAL_TZ = timezone(timedelta(hours=8))
DEFAULT_START = datetime(2022, 10, 14, 8, 0, tzinfo=LOCAL_TZ)

_DURATION_PART = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_DURATION_S = 400 * 86400


class ScenarioError(ControlfeedError):
    """An option of ``controlfeed generate`` (or of ``ScenarioOptions``) is unusable."""


def seeded(stream: str, seed: int) -> random.Random:
    """The random stream ``stream`` of scenario ``seed``: same names, same numbers, everywhere.

    A simulation's generator, never a secret's: string seeds are hashed with SHA-512,
    not with the salted ``hash()``, so runs agree across processes.
    """
    return random.Random(f"controlfeed-{stream}-{seed}")  # noqa: S311 - simulation, not security


def parse_duration(text: str) -> int:
    """``90m``, ``26h``, ``2d``, ``1h30m``, ``45s`` -> seconds; raises ``ScenarioError``."""
    compact = text.strip().lower()
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ScenarioError(
            f"--duration {text!r} is not a duration",
            hint="Write a number and a unit (s, m, h, d), e.g. 90m, 26h, 2d or 1h30m.",
        )
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def format_duration(seconds: int) -> str:
    """The shortest ``parse_duration`` text for ``seconds`` (``93600`` -> ``26h``)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_start(text: str) -> datetime:
    """An ISO-8601 time with a UTC offset; raises ``ScenarioError`` otherwise."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise ScenarioError(
            f"--start {text!r} is not an ISO-8601 time",
            hint="Write e.g. 2022-10-14T08:00:00+08:00.",
        ) from err
    if moment.tzinfo is None:
        raise ScenarioError(
            f"--start {text!r} has no UTC offset",
            hint="Add the offset, e.g. 2022-10-14T08:00:00+08:00 (feed times always carry one).",
        )
    return moment


def labels_path_for(out: Path) -> Path:
    """``x.jsonl`` or ``x.jsonl.gz`` -> ``x.labels.json``; raises ``ScenarioError`` otherwise."""
    name = out.name
    for suffix in (".jsonl.gz", ".jsonl"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return out.with_name(name[: -len(suffix)] + ".labels.json")
    raise ScenarioError(
        f"the output file {str(out)!r} does not end in .jsonl or .jsonl.gz",
        hint="Name it e.g. scenario.jsonl (plain) or scenario.jsonl.gz (gzip).",
    )


def _check_range(name: str, value: float, low: float, high: float, example: str) -> None:
    if not low <= value <= high:
        raise ScenarioError(
            f"{name} {value} is out of range ({low} to {high})",
            hint=f"Pick a value in that range, e.g. {name} {example}.",
        )


@dataclass(frozen=True)
class ScenarioOptions:
    """What to generate. Same options, same bytes."""

    seed: int = 1
    """Seeds every random choice."""
    start: datetime = field(default=DEFAULT_START)
    """Event time of the first record; must carry a UTC offset."""
    duration_s: int = 3600
    """Length of the scenario in event time."""
    population: int = 50_000
    """People in the background traffic: residents of the grids and travellers."""
    rate: float = 200.0
    """Average scans per second (checkpoint and venue scans) over the scenario."""
    anomaly_rate: float = 0.001
    """Injected anomaly scenarios per background scan."""
    malformed_rate: float = 0.001
    """Share of all lines that are bad input."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ScenarioError("--start has no UTC offset", hint="Add one, e.g. +08:00.")
        if not 60 <= self.duration_s <= _MAX_DURATION_S:
            raise ScenarioError(
                f"--duration {format_duration(self.duration_s)} is out of range (1m to 400d)",
                hint="Pick e.g. --duration 26h (24 h deadlines need more than a day).",
            )
        _check_range("--population", self.population, 500, 20_000_000, "50000")
        _check_range("--rate", self.rate, 0.001, 1_000_000, "200")
        _check_range("--anomaly-rate", self.anomaly_rate, 0.0, 0.5, "0.001")
        _check_range("--malformed-rate", self.malformed_rate, 0.0, 0.5, "0.001")

    @property
    def start_ms(self) -> int:
        """The start as epoch milliseconds."""
        return round(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        """The end (exclusive) as epoch milliseconds."""
        return self.start_ms + self.duration_s * 1000

    def as_json(self) -> dict[str, object]:
        """The options as written into the labels file (and enough to regenerate)."""
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "duration": format_duration(self.duration_s),
            "population": self.population,
            "rate": self.rate,
            "anomaly_rate": self.anomaly_rate,
            "malformed_rate": self.malformed_rate,
        }
