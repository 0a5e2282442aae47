"""What every rule family works with: the ``Context`` and the ``FamilyRules`` protocol.

The engine owns one ``Context`` per engine partition and passes it to the
family that handles each event or timer. A family appends the alerts it
raises to ``ctx.alerts`` and asks for a callback at a deadline with
``ctx.schedule``; the engine fires it once the effective watermark is
strictly past the deadline (docs/watermark.md). Families must decide a
deadline from events with ``event_time <= deadline`` only, so a timer may
fire after later events were processed and still give the same answer.
"""

from __future__ import annotations

from heapq import heappush
from typing import Any, Protocol

from rules.config import Place, RulesConfig, Thresholds
from rules.reference import ReferenceHistory
from schemas.alerts import Alert
from schemas.clean import Family, RuleEvent

__all__ = ["Context", "FamilyRules", "Timer"]

Timer = tuple[int, int, Family, str, Any]
"""A scheduled deadline: (deadline in microseconds, sequence, family, key, payload).
The payload is JSON-able (it goes into snapshots)."""


class Context:
    """Configuration, reference state, pending timers and the alerts raised so far."""

    __slots__ = ("alerts", "config", "places", "reference", "thresholds", "timer_seq", "timers")

    def __init__(self, config: RulesConfig, reference: ReferenceHistory | None = None) -> None:
        self.config = config
        self.thresholds: Thresholds = config.thresholds
        self.places: dict[str, Place] = config.places
        self.reference = reference if reference is not None else ReferenceHistory()
        self.alerts: list[Alert] = []
        self.timers: list[Timer] = []
        self.timer_seq = 0

    def schedule(self, deadline: int, family: Family, key: str, payload: Any) -> None:
        """Call ``family.on_timer(ctx, key, deadline, payload)`` once the watermark passes it."""
        self.timer_seq += 1
        heappush(self.timers, (deadline, self.timer_seq, family, key, payload))


class FamilyRules(Protocol):
    """The rules of one family over its own state; implemented by each ``rules/<family>.py``."""

    def on_arrival(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """Any new event copy, on arrival (late or not): the rules whose verdict depends on
        the event alone (``rules.events``), so their alerts need not wait for the watermark."""

    def on_event(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An on-time event, in ``(event_time, event_id)`` order; ``time`` is its microseconds."""

    def on_late(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """A late event: only the per-event rules this family owns that need the
        reference history (the others ran on arrival; docs/rules.md)."""

    def on_timer(self, ctx: Context, key: str, deadline: int, payload: Any) -> None:
        """A deadline the family scheduled has passed."""

    def prune(self, ctx: Context, before: int) -> None:
        """Drop state that can no longer matter before ``before`` (microseconds)."""

    def as_json(self) -> Any:
        """The family's state as JSON-able data (``rules.state``)."""
