"""The oracle's output and configuration: `Alert` and `Thresholds` (defaults of docs/rules.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MEDICINE_CATEGORIES = frozenset({"fever", "cough", "antiviral", "antibiotic"})
POLICE_INCIDENT_TYPES = frozenset(
    {"rumor", "counterfeit_goods", "illegal_vaccine", "checkpoint_conflict"}
)


@dataclass(frozen=True)
class Alert:
    rule: str
    severity: str
    evidence: tuple[str, ...]  # sorted event ids
    event_time: datetime
    subject_type: str  # person, venue, checkpoint, site or incident
    subject_id: str  # raw person_id (test-only), place id or incident id

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.rule, self.severity, self.evidence)


@dataclass(frozen=True)
class Thresholds:
    fever_warning_c: float = 37.3
    fever_critical_c: float = 38.5
    noncompliance_min_failures: int = 3
    crowding_window_s: int = 900
    returnee_test_within_s: int = 86400
    impossible_travel_kmh: float = 150.0
    impossible_travel_min_km: float = 5.0
    surge_window_s: int = 300
    surge_alpha: float = 0.1
    surge_warmup_windows: int = 12
    surge_sigmas: float = 4.0
    surge_min_excess: float = 20.0
    patrol_gap_s: int = 7200
    reinspection_within_s: int = 86400
    allowed_lateness_s: int = 600
    temperature_required_types: tuple[str, ...] = (
        "pharmacy",
        "restaurant",
        "hotel",
        "bus_station",
        "mall",
        "supermarket",
    )
    dispatch_s: int = 60
    arrive_s: int = 180
    resolve_s: int = 300


def make_alert(
    rule: str,
    severity: str,
    evidence: list[str] | tuple[str, ...],
    event_time: datetime,
    subject_type: str,
    subject_id: str,
) -> Alert:
    """An alert with its evidence sorted, as docs/rules.md requires."""
    return Alert(rule, severity, tuple(sorted(evidence)), event_time, subject_type, subject_id)
