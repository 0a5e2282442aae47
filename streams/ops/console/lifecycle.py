"""What each action does to an alert's state, and how the alert-state topic is replayed.

Pure functions and one in-memory class, no Kafka: ``streams.ops.console.book``
holds a ``States`` and feeds it every record of the alert-state topic in the
topic's order; ``decide`` is called by the console's API before it writes an
action. A record is applied only when its ``version`` is one more than the
alert's current one: two consoles that act on the same version at once both
write, every console applies the first and drops the second the same way, and
the console that wrote the second answers its user with a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from schemas.alert_state import Action, AlertState, Status

__all__ = ["TRANSITIONS", "ActionRefused", "States", "decide"]

_OUTCOMES: Final = 100_000
"""Outcomes kept (a console waits for its own action's outcome within seconds)."""

_OPEN: Final[frozenset[Status]] = frozenset({"new", "acknowledged", "assigned"})
_CLOSED: Final[frozenset[Status]] = frozenset({"resolved", "dismissed"})

TRANSITIONS: Final[dict[Action, tuple[frozenset[Status], Status | None]]] = {
    "ack": (frozenset({"new"}), "acknowledged"),
    "assign": (_OPEN, "assigned"),
    "comment": (_OPEN | _CLOSED, None),
    "resolve": (_OPEN, "resolved"),
    "dismiss": (_OPEN, "dismissed"),
    "reopen": (_CLOSED, "new"),
}
"""Per action: the statuses it may be taken from, and the status it leads to (None: kept)."""


class ActionRefused(ValueError):  # noqa: N818 (a refusal, said to the user, not a crash)
    """The action cannot be taken on the alert as it stands; ``str()`` says why, for people."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict
        """True when another action came first (HTTP 409), False for a wrong request (400)."""


def decide(
    current: AlertState | None,
    *,
    alert_id: str,
    action: Action,
    actor: str,
    at: datetime,
    action_id: str,
    note: str | None = None,
    assignee: str | None = None,
    expected_version: int | None = None,
) -> AlertState:
    """The record to write for ``action`` on an alert whose newest state is ``current``.

    ``expected_version`` (the version the user saw, 0 for none) makes a stale
    click a conflict rather than an action on something the user has not
    seen. Raises ``ActionRefused``.
    """
    version = 0 if current is None else current.version
    if expected_version is not None and expected_version != version:
        raise ActionRefused(
            f"the alert changed meanwhile (version {version}, you saw {expected_version}); "
            "reload it and try again",
            conflict=True,
        )
    status: Status = "new" if current is None else current.status
    allowed, after = TRANSITIONS[action]
    if status not in allowed:
        raise ActionRefused(f"cannot {action} an alert that is {status}")
    if action == "comment" and not (note and note.strip()):
        raise ActionRefused("a comment needs a note")
    if action == "assign" and not assignee:
        raise ActionRefused("assign needs an assignee")
    return AlertState(
        alert_id=alert_id,
        version=version + 1,
        status=status if after is None else after,
        assignee=assignee if action == "assign" or current is None else current.assignee,
        action=action,
        action_id=action_id,
        actor=actor,
        at=at,
        note=note.strip() if note and note.strip() else None,
    )


@dataclass(slots=True)
class States:
    """Every alert's newest state and audit trail, as the alert-state topic's order makes them."""

    current: dict[str, AlertState] = field(default_factory=dict)
    """The newest applied state of each alert that has one."""
    trails: dict[str, list[AlertState]] = field(default_factory=dict)
    """The applied records of each alert, oldest first (its audit trail as read here)."""
    outcomes: dict[str, bool] = field(default_factory=dict)
    """Per ``action_id`` read: whether it was applied (False: another action came first)."""

    def apply(self, record: AlertState) -> bool:
        """Apply one record in topic order; whether it was (its version was the next one;
        a record read before is not applied again).

        A compacted topic may start an alert's history at a later version (older
        records compacted away): the first record read of an alert is taken as
        it is.
        """
        known = self.outcomes.get(record.action_id)
        if known is not None:  # read again (a reader that started over): changes nothing
            return False
        now = self.current.get(record.alert_id)
        applied = now is None or record.version == now.version + 1
        self.outcomes[record.action_id] = applied
        if len(self.outcomes) > _OUTCOMES:
            del self.outcomes[next(iter(self.outcomes))]
        if applied:
            self.current[record.alert_id] = record
            self.trails.setdefault(record.alert_id, []).append(record)
        return applied

    def status(self, alert_id: str) -> Status:
        """The alert's status (``new`` when it has no record)."""
        state = self.current.get(alert_id)
        return "new" if state is None else state.status
