"""One expected alert, as the labels file lists it (docs/scenarios.md).

Made by the writer (crowding and surge, which depend on background counts) and
by ``labels`` (every other rule, from the tracked records).
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.devtools.scenario.clock import iso

__all__ = ["Expected"]


@dataclass(frozen=True, order=True)
class Expected:
    """An alert the rules of docs/rules.md must raise on the generated file."""

    time: int
    """The alert's event_time, epoch ms (the scan's, or the deadline)."""
    rule: str
    severity: str
    evidence: tuple[str, ...]
    """Sorted event ids."""
    subject_type: str
    """person, venue, checkpoint, site or incident."""
    subject_id: str

    @classmethod
    def of(
        cls,
        rule: str,
        severity: str,
        evidence: list[str] | tuple[str, ...],
        time: int,
        subject: tuple[str, str],
    ) -> Expected:
        """An alert with its evidence sorted."""
        return cls(time, rule, severity, tuple(sorted(evidence)), subject[0], subject[1])

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        """What identifies an alert: (rule, severity, evidence)."""
        return (self.rule, self.severity, self.evidence)

    def as_json(self) -> dict[str, object]:
        """The labels file's form."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "evidence": list(self.evidence),
            "event_time": iso(self.time),
            "subject": {"type": self.subject_type, "id": self.subject_id},
        }
