"""The alert: the pipeline's output contract (``docs/feeds.md``, "Alerts").

Built by the rules (one per firing), serialised to the ``alerts`` topic and
ClickHouse, read back by downstream systems. It never carries a raw ID or
phone number: a person is a keyed pseudonym (``schemas.identity.pseudonym``)
and a masked form. ``schema_version`` changes only when a field changes
meaning or disappears; new optional fields keep the version, and readers
ignore fields they do not know.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Final, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints, model_validator

from schemas.catalogue import RULE_IDS, Severity, Subject

__all__ = ["ALERT_SCHEMA_VERSION", "Alert", "RuleId", "Severity", "Subject", "alert_id"]

ALERT_SCHEMA_VERSION: Final = 1
"""The version of the alert contract this module writes."""

if TYPE_CHECKING:
    RuleId = str
else:
    RuleId = Literal[RULE_IDS]
"""The rule ids of ``schemas.catalogue`` (in the model and its JSON Schema an enumeration;
to the type checker text, since the catalogue is data)."""

_SUBJECT_FIELD: Final[dict[str, str]] = {
    "person": "person_key",
    "venue": "venue_id",
    "checkpoint": "checkpoint_id",
    "site": "site_id",
    "incident": "incident_id",
}


def alert_id(
    rule: str, severity: str, evidence: Sequence[str], event_time: datetime, subject_key: str
) -> str:
    """The deterministic id of an alert: 32 hex digits of SHA-256.

    Called by the rules when they build an ``Alert``. The same rule, severity,
    evidence (order does not matter), event time (the instant, whatever its
    offset) and subject key (the id of the subject: person key, venue, site...)
    give the same id in every process and every replay, so consumers can drop
    duplicates. ``event_time`` and the subject are part of it because
    evidence alone can be empty (``patrol-gap`` at a site never checked in).
    Raises ``ValueError`` for a naive ``event_time``.
    """
    if event_time.utcoffset() is None:
        raise ValueError("alert_id needs an offset-aware event_time")
    instant = event_time.astimezone(UTC).isoformat()
    parts = [rule, severity, instant, subject_key, *sorted(evidence)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


class Alert(BaseModel):
    """One anomaly found by a rule, as consumers receive it."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    schema_version: int = ALERT_SCHEMA_VERSION
    """Version of this contract; readers check it before trusting the fields."""
    alert_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    """Deterministic id (``schemas.alerts.alert_id``): the same input gives the same id."""
    rule: RuleId
    """The rule that fired."""
    severity: Severity
    """``info``, ``warning`` or ``critical``."""
    subject: Subject
    """What the alert is about; the matching id field below is set."""
    event_time: AwareDatetime
    """The triggering event's time, or the deadline for deadline rules."""
    evidence: tuple[str, ...]
    """The ``event_id`` s that triggered it, sorted; may be empty (``patrol-gap``)."""
    checkpoint_id: str | None = None
    """The checkpoint, when the alert happened at one."""
    venue_id: str | None = None
    """The venue, when the alert happened at one."""
    site_id: str | None = None
    """The key site (``patrol-gap``)."""
    incident_id: str | None = None
    """The police incident."""
    grid: str | None = None
    """The community grid or village, when known."""
    person_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    """Keyed pseudonym of the person (HMAC-SHA256, 64 hex); never the raw ID."""
    person_masked: str | None = None
    """Masked ID number for people who must read it, e.g. ``5***************1X``."""
    message: str
    """One sentence for an operator."""

    @property
    def subject_id(self) -> str | None:
        """The id of the subject: the field ``subject`` names (``person_key``, ``venue_id``,
        ``checkpoint_id``, ``site_id`` or ``incident_id``); set on every valid alert. The
        alerts topic is keyed by it (``streams.wire.alert_key``)."""
        value: str | None = getattr(self, _SUBJECT_FIELD[self.subject])
        return value

    @model_validator(mode="after")
    def _subject_is_named(self) -> Self:
        if self.subject_id is None:
            field = _SUBJECT_FIELD[self.subject]
            raise ValueError(f"an alert about a {self.subject} needs {field}")
        if list(self.evidence) != sorted(self.evidence):
            raise ValueError("evidence must be sorted")
        return self
