"""What every peer app shares: its command line, its report to ``peers.py``, the subset rules.

Imported by each app of this package (in the project's virtualenv and in the
Quix one, so the standard library only). ``benchmarks/peers.py`` reads the
report lines; it computes the expected alerts from the event file on its own
(``benchmarks.peers.expected_subset``), so a mistake here shows as a wrong
count instead of agreeing with itself.

**The subset** (``docs/rules.md`` has the real rules; these are their simple
cores, what every peer can express):

- a record counts only if its value is a JSON object (invalid JSON, invalid
  UTF-8 and JSON that is not an object are skipped, never an error);
- on ``checkpoint_scan`` and ``venue_scan`` records, per event:
  ``fever`` when ``temperature_c`` is a number >= 37.3; ``code_not_green``
  when ``health_code`` is ``"yellow"`` or ``"red"``; ``no_code`` when it is
  ``"none"``;
- ``venue_crowd``: venue scans with a string ``venue_id`` and an
  ``event_time`` with a UTC offset (``datetime.fromisoformat``) are counted
  per venue in tumbling 10-minute windows of event time (aligned to the
  epoch); one alert when a (venue, window) count reaches 101.

Each rule needs only the fields it reads: a venue scan without
``health_code`` still counts for its venue, a checkpoint scan without
``event_time`` can still be a fever. Bad values that the pipeline would send
to the dead letters (a temperature of 45.6) count here like any other.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

__all__ = [
    "CROWD_AT",
    "FEVER_C",
    "PREFIX",
    "RULES",
    "WINDOW_MS",
    "Reporter",
    "event_time_ms",
    "options",
    "scan_alerts",
    "window_fields",
]

PREFIX: Final = "PEER "
"""Start of every report line on standard output (libraries print there too)."""
FEVER_C: Final = 37.3
CROWD_AT: Final = 101
"""A (venue, window) count that raises ``venue_crowd``, once."""
WINDOW_MS: Final = 600_000
RULES: Final = ("fever", "code_not_green", "no_code", "venue_crowd")
SCAN_FEEDS: Final = frozenset({"checkpoint_scan", "venue_scan"})
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
_PROGRESS_S: Final = 0.5


def options(description: str) -> argparse.ArgumentParser:
    """The command line ``peers.py`` gives every app; an app may add its own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--topics", required=True, help="the feed topics, comma separated")
    parser.add_argument("--records", type=int, required=True, help="records the topics hold")
    parser.add_argument("--group", required=True, help="a fresh consumer group / app id")
    parser.add_argument("--alerts-topic", default="", help="where alerts go (rule apps)")
    parser.add_argument("--venue-topic", default="", help="the venue-scans topic (rule apps)")
    parser.add_argument("--partitions", type=int, default=6, help="partitions of own topics")
    parser.add_argument("--state-dir", default="", help="a fresh folder for local state")
    return parser


def scan_alerts(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-event alerts of one decoded record (empty for anything but a scan)."""
    feed = record.get("feed")
    if feed not in SCAN_FEEDS:
        return []
    out: list[dict[str, Any]] = []
    temperature = record.get("temperature_c")
    if (
        isinstance(temperature, int | float)
        and not isinstance(temperature, bool)
        and temperature >= FEVER_C
    ):
        out.append({"rule": "fever", "feed": feed, "event_id": record.get("event_id")})
    code = record.get("health_code")
    if code == "yellow" or code == "red":
        out.append({"rule": "code_not_green", "feed": feed, "event_id": record.get("event_id")})
    elif code == "none":
        out.append({"rule": "no_code", "feed": feed, "event_id": record.get("event_id")})
    return out


def event_time_ms(value: object) -> int | None:
    """Epoch milliseconds of an ``event_time`` string with a UTC offset, else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment - _EPOCH) // _MS


def window_fields(record: Mapping[str, Any]) -> tuple[str, int] | None:
    """(venue_id, event time ms) of a venue scan the crowd window counts, else None."""
    if record.get("feed") != "venue_scan":
        return None
    venue = record.get("venue_id")
    if not isinstance(venue, str):
        return None
    at = event_time_ms(record.get("event_time"))
    return None if at is None else (venue, at)


class Reporter:
    """Report lines to ``peers.py`` on standard output: first record, progress, done."""

    def __init__(self) -> None:
        self.first_at = 0.0
        """Wall clock (``time.time``) of the first record read; 0 until then."""
        self._next = 0.0

    def _say(self, **fields: object) -> None:
        sys.stdout.write(PREFIX + json.dumps(fields) + "\n")
        sys.stdout.flush()

    def first(self) -> None:
        """Call on every record read; reports the first one (the clock starts)."""
        if not self.first_at:
            self.first_at = time.time()
            self._next = self.first_at + _PROGRESS_S
            self._say(event="first", at=self.first_at)

    def progress(self, records: int) -> None:
        """Records processed so far; sent at most twice a second."""
        now = time.time()
        if now >= self._next:
            self._next = now + _PROGRESS_S
            self._say(event="progress", records=records)

    def done(self, records: int, **counts: object) -> None:
        """The last input record is processed and the output flushed: the clock stops."""
        self._say(event="done", records=records, first=self.first_at, last=time.time(), **counts)

    @staticmethod
    def wait_for_parent() -> None:
        """Block until ``peers.py`` closes our standard input (it has read our CPU time)."""
        sys.stdin.read()
