"""The handling of an alert: the records of the alert-state topic (``docs/console.md``).

Operators take, acknowledge and resolve alerts in the console
(``streams.ops.console``); each action becomes one ``AlertState`` record on the
compacted alert-state topic, keyed by ``alert_id``: the alert's state after
the action, with the action itself, who did it, when, and a note. The
topic's order is the truth: every console replays it the same way
(``streams.ops.console.lifecycle``), so several consoles share one state, and
downstream systems (police dispatch, grid apps) follow it to see what is
being handled. The newest record of an alert is its state (compaction keeps
it); the sequence of its records is its audit trail, which the sink keeps in
ClickHouse.

No personal data: actors are console user names, notes are operators' text
(the console refuses a note holding something shaped like an ID or phone
number, ``has_personal_data``).
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "ACTIONS",
    "ALERT_STATE_SCHEMA_VERSION",
    "STATUSES",
    "Action",
    "AlertState",
    "Status",
    "has_personal_data",
]

ALERT_STATE_SCHEMA_VERSION: Final = 1
"""The version of the alert-state contract this module writes."""

Status = Literal["new", "acknowledged", "assigned", "resolved", "dismissed"]
"""Where an alert stands; an alert with no record yet is ``new``."""

STATUSES: Final[tuple[Status, ...]] = ("new", "acknowledged", "assigned", "resolved", "dismissed")
"""Every status, in the order an alert usually goes through them."""

Action = Literal["ack", "assign", "comment", "resolve", "dismiss", "reopen"]
"""What an operator did."""

ACTIONS: Final[tuple[Action, ...]] = ("ack", "assign", "comment", "resolve", "dismiss", "reopen")
"""Every action."""

UserName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
"""A console user name: 1 to 32 letters, digits, ``.``, ``_`` or ``-``."""


class AlertState(BaseModel):
    """One record of the alert-state topic: an alert's state after one action."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    schema_version: int = ALERT_STATE_SCHEMA_VERSION
    """Version of this contract; readers check it before trusting the fields."""
    alert_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    """The alert (``schemas.alerts.Alert.alert_id``)."""
    version: int = Field(ge=1)
    """1 for the alert's first action, then one more per action applied."""
    status: Status
    """The status after the action."""
    assignee: UserName | None = None
    """Who the alert is assigned to, while it is (``assign``)."""
    action: Action
    """The action that made this state."""
    action_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    """Unique per action (the console that wrote it waits to see it applied)."""
    actor: UserName
    """The console user who acted."""
    at: AwareDatetime
    """When the action was taken (the console's clock, UTC)."""
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    """The operator's note (required for ``comment``)."""


_ID_SHAPED: Final = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_PHONE_SHAPED: Final = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def has_personal_data(text: str) -> bool:
    """Whether ``text`` holds something shaped like a resident ID or a mobile number.

    The console calls it on every note before writing it: notes travel to
    downstream systems and ClickHouse, where raw IDs and phones must never be.
    """
    return bool(_ID_SHAPED.search(text) or _PHONE_SHAPED.search(text))
