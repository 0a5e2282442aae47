"""The site family (key: a key site): ``patrol-gap``.

Routing sends every patrol event, of any kind, to this family once per key
site (``rules.routing``), so the partition that owns a site sees the whole
patrol stream in order. That gives each site the origin docs/rules.md asks
for without any cross-partition exchange: the clock of a site that has no
check-in yet starts at the first on-time patrol event of the stream, which
is the first patrol event this site's state sees.

Per site: the open deadlines, each with its evidence (the last check-in's
id, or ``""`` before any). A check-in at ``t`` at the site meets the open
deadline if ``t <= deadline``, and opens a new one at ``t + patrol_gap_s``.
A deadline still open when the watermark passes it raises the gap's one
alert; the next deadline opens only at the next check-in. Because a
check-in after the deadline does not close it, the timer may fire late and
still judge by times alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.alerting import At, make_alert
from rules.clock import SECOND_US, from_us
from rules.context import Context
from schemas.clean import RuleEvent
from schemas.feeds import PatrolEvent

__all__ = ["SiteFamily", "SiteState"]


@dataclass(slots=True)
class SiteState:
    """One key site's patrol clock."""

    latest: int
    """The newest deadline opened (microseconds)."""
    pending: dict[int, str] = field(default_factory=dict)
    """Open deadlines -> evidence (the check-in that started the clock, or ``""``)."""

    def as_json(self) -> list[Any]:
        """Compact JSON form."""
        return [self.latest, [[d, e] for d, e in self.pending.items()]]


@dataclass
class SiteFamily:
    """Patrol clocks per key site; see the module docstring."""

    sites: dict[str, SiteState] = field(default_factory=dict)

    def on_arrival(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """Site clocks judge nothing on arrival."""

    def on_event(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An on-time patrol event (any kind) seen for site ``key``."""
        if not isinstance(event, PatrolEvent):
            return
        gap = ctx.thresholds.patrol_gap_s * SECOND_US
        state = self.sites.get(key)
        if state is None:  # the first patrol event of the stream starts the clock
            state = self.sites[key] = SiteState(time + gap, {time + gap: ""})
            ctx.schedule(time + gap, "site", key, None)
        if event.kind != "checkin" or event.site_id != key:
            return
        if time <= state.latest:
            state.pending.pop(state.latest, None)
        state.latest = time + gap
        state.pending[state.latest] = event.event_id
        ctx.schedule(state.latest, "site", key, None)

    def on_late(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """Late patrol events neither start nor meet a clock."""

    def on_timer(self, ctx: Context, key: str, deadline: int, payload: Any) -> None:
        """A deadline of site ``key`` has passed: a gap if it is still open."""
        state = self.sites.get(key)
        if state is None or deadline not in state.pending:
            return
        last_checkin = state.pending.pop(deadline)
        evidence = (last_checkin,) if last_checkin else ()
        hours = ctx.thresholds.patrol_gap_s / 3600
        since = "its last check-in" if last_checkin else "the first patrol event"
        message = f"no patrol check-in at {key} for {hours:g} h since {since}"
        at = At(key, site_id=key, grid=_grid(ctx, key))
        ctx.alerts.append(
            make_alert("patrol-gap", "warning", evidence, from_us(deadline), "site", at, message)
        )

    def prune(self, ctx: Context, before: int) -> None:
        """One state per key site: nothing to prune."""

    def as_json(self) -> dict[str, Any]:
        """The clocks by site."""
        return {key: state.as_json() for key, state in self.sites.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SiteFamily:
        """The family ``as_json`` wrote."""
        return cls(
            {
                key: SiteState(int(row[0]), {int(d): str(e) for d, e in row[1]})
                for key, row in data.items()
            }
        )


def _grid(ctx: Context, site_id: str) -> str | None:
    place = ctx.places.get(site_id)
    return None if place is None else place.grid
