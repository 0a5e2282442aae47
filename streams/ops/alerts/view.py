"""The pure parts of ``controlfeed alerts``: time parsing, filtering, formatting.

Called by ``streams.cli.alerts``; nothing here talks to Kafka, so the unit
tests cover it without a broker. Bad user input (an unknown rule id, a time
that cannot be read) raises ``ControlfeedError`` with a hint; the CLI prints
it and exits 2.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, get_args

from rich.text import Text

from rules.clock import LOCAL_TZ
from schemas.alerts import Alert, RuleId, Severity
from streams.exceptions import ControlfeedError

__all__ = [
    "RULE_IDS",
    "SEVERITIES",
    "AlertFilter",
    "Summary",
    "format_line",
    "parse_rules",
    "parse_time",
    "place_of",
]

RULE_IDS: Final[tuple[str, ...]] = get_args(RuleId)
"""Every rule id an alert can carry, in ``docs/domain.md`` order."""
SEVERITIES: Final[tuple[str, ...]] = get_args(Severity)
"""Severities from least to most urgent: ``--severity`` is a minimum on this order."""
_COLOURS: Final = {"info": "blue", "warning": "yellow", "critical": "bold red"}
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION: Final = re.compile(r"(\d+)\s*([smhdw])")
_TIME_HINT: Final = (
    "Give a duration back from now (30m, 2h, 1d, 1h30m) or an ISO 8601 time "
    "(2026-11-28T14:00, 2026-11-28T06:00Z); a time without offset is local (+08:00)."
)


def parse_time(text: str, now: datetime) -> datetime:
    """An aware instant from ``--since``/``--until``: a duration before ``now`` or ISO 8601.

    ``now`` must be aware (the command passes the wall clock). An ISO time with
    no offset is taken as local time (+08:00), as operators read it. Raises
    ``ControlfeedError`` when ``text`` is neither form.
    """
    spec = text.strip().lower()
    if spec and _DURATION.sub("", spec).strip() == "":
        seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(spec))
        return now - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ControlfeedError(f"cannot read the time {text!r}", hint=_TIME_HINT) from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=LOCAL_TZ)


def parse_rules(values: Iterable[str]) -> frozenset[str]:
    """The ``--rule`` values checked against the known rule ids; empty means every rule.

    Raises ``ControlfeedError`` naming the unknown ids, with the valid ones as hint.
    """
    rules = frozenset(v.strip() for v in values)
    unknown = sorted(rules - set(RULE_IDS))
    if unknown:
        raise ControlfeedError(
            f"unknown rule id(s): {', '.join(unknown)}",
            hint=f"Valid rule ids: {', '.join(RULE_IDS)}.",
        )
    return rules


def place_of(alert: Alert) -> str:
    """Where an alert happened, e.g. ``checkpoint CP-12 · grid G-3``; ``-`` when unknown."""
    parts = [
        f"{label} {value}"
        for label, value in (
            ("checkpoint", alert.checkpoint_id),
            ("venue", alert.venue_id),
            ("site", alert.site_id),
            ("incident", alert.incident_id),
            ("grid", alert.grid),
        )
        if value
    ]
    return " · ".join(parts) or "-"


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What an operator asked to see; ``matches`` is called once per alert read."""

    rules: frozenset[str] = frozenset()
    """Rule ids to keep; empty keeps every rule."""
    min_severity: str = "info"
    """The least urgent severity kept."""
    place: str = ""
    """Case-insensitive substring of a checkpoint, venue, site or incident id or the grid."""
    since: datetime | None = None
    """Keep alerts whose event time is at or after this instant."""
    until: datetime | None = None
    """Keep alerts whose event time is before this instant."""

    def matches(self, alert: Alert) -> bool:
        """True when ``alert`` passes every criterion."""
        if self.rules and alert.rule not in self.rules:
            return False
        if SEVERITIES.index(alert.severity) < SEVERITIES.index(self.min_severity):
            return False
        if self.since is not None and alert.event_time < self.since:
            return False
        if self.until is not None and alert.event_time >= self.until:
            return False
        return not self.place or self._place_matches(alert)

    def _place_matches(self, alert: Alert) -> bool:
        needle = self.place.lower()
        places = (alert.checkpoint_id, alert.venue_id, alert.site_id, alert.incident_id, alert.grid)
        return any(needle in p.lower() for p in places if p)


def format_line(alert: Alert) -> Text:
    """One readable line: local time, severity (coloured), rule, place, masked person, message.

    Returns a rich ``Text``: the console drops the colour when it is not a terminal.
    """
    when = alert.event_time.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S%z")
    line = Text(f"{when[:-2]}:{when[-2:]}  ")
    line.append(f"{alert.severity:<8}", style=_COLOURS[alert.severity])
    line.append(f"  {alert.rule:<23}  {place_of(alert)}")
    if alert.person_masked:
        line.append(f"  person {alert.person_masked}")
    line.append(f"  {alert.message}")
    return line


@dataclass(slots=True)
class Summary:
    """Counts of the alerts shown and the records skipped; ``line`` is the final report."""

    by_severity: Counter[str] = field(default_factory=Counter)
    """Alerts shown, per severity."""
    invalid: int = 0
    """Records on the topic that were not a valid alert (warned about, skipped)."""
    seen: set[str] = field(default_factory=set)
    """The alert ids shown so far."""
    repeats: int = 0
    """Alerts not shown because one with the same ``alert_id`` was (a restarted worker's)."""

    def first_time(self, alert: Alert) -> bool:
        """True the first time an ``alert_id`` comes; later copies are counted as repeats."""
        if alert.alert_id in self.seen:
            self.repeats += 1
            return False
        self.seen.add(alert.alert_id)
        return True

    def add(self, alert: Alert) -> None:
        """Count one alert shown."""
        self.by_severity[alert.severity] += 1

    @property
    def shown(self) -> int:
        """How many alerts were shown."""
        return sum(self.by_severity.values())

    def line(self) -> str:
        """E.g. ``3 alerts shown: 1 critical, 2 warning, 0 info``."""
        counts = ", ".join(f"{self.by_severity[s]} {s}" for s in reversed(SEVERITIES))
        noun = "alert" if self.shown == 1 else "alerts"
        skipped = f"; {self.invalid} invalid record(s) skipped" if self.invalid else ""
        repeated = f"; {self.repeats} repeat(s) of the same alert_id hidden" if self.repeats else ""
        return f"{self.shown} {noun} shown: {counts}{skipped}{repeated}"
