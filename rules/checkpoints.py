"""The checkpoint family (key: ``checkpoint_id``): checkpoint scans' per-event rules and
``checkpoint-surge``.

Called by the engine with every checkpoint scan, on time in order. The surge
baseline is the EWMA of docs/rules.md over every 5-minute window from the
window of the checkpoint's first ``in`` scan, empty windows included. The
rule fires at a scan, so a window is closed (and the empty ones after it fed
to the baseline as zeros) when the next ``in`` scan of a later window is
processed: the same numbers as closing each window when the watermark passes
it, without a timer per checkpoint and window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rules.alerting import at_checkpoint, make_alert
from rules.clock import SECOND_US, window_of
from rules.context import Context
from rules.events import scan_alerts, scan_immediate_alerts
from schemas.clean import CleanCheckpointScan, RuleEvent

__all__ = ["CheckpointFamily", "SurgeBaseline"]


@dataclass(slots=True)
class SurgeBaseline:
    """One checkpoint's EWMA baseline and the window being counted, as in docs/rules.md."""

    window: int
    """The window being counted (epoch-aligned index)."""
    count: int = 0
    """``in`` scans in it so far."""
    fired: bool = False
    """The rule fired in this window."""
    mean: float = 0.0
    """EWMA of the previous windows' counts."""
    var: float = 0.0
    """EW variance of the previous windows' counts."""
    updates: int = 0
    """Windows that have updated the baseline."""

    def update(self, count: int, alpha: float) -> None:
        """Feed one closed window's count to the baseline."""
        if self.updates == 0:
            self.mean, self.var = float(count), 0.0
        else:
            d = count - self.mean
            self.mean += alpha * d
            self.var = (1 - alpha) * (self.var + alpha * d * d)
        self.updates += 1

    def advance_to(self, window: int, alpha: float) -> None:
        """Close the current window and every empty one before ``window``, one by one
        (so the floating-point numbers are exactly those of docs/rules.md's recurrence)."""
        while self.window < window:
            self.update(self.count, alpha)
            self.window += 1
            self.count, self.fired = 0, False

    def as_json(self) -> list[Any]:
        """Compact JSON form (floats keep their exact value through JSON)."""
        return [self.window, self.count, self.fired, self.mean, self.var, self.updates]


@dataclass
class CheckpointFamily:
    """Surge baselines per checkpoint; see the module docstring."""

    baselines: dict[str, SurgeBaseline] = field(default_factory=dict)

    def on_arrival(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """A checkpoint scan on arrival: the immediate per-event rules."""
        if isinstance(event, CleanCheckpointScan):
            scan_immediate_alerts(ctx, event, None)

    def on_event(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """An on-time checkpoint scan: reference per-event rules, then the surge count."""
        if not isinstance(event, CleanCheckpointScan):
            return
        scan_alerts(ctx, event, time, None)
        if event.direction != "in":
            return
        th = ctx.thresholds
        window = window_of(time, th.surge_window_s * SECOND_US)
        baseline = self.baselines.get(key)
        if baseline is None:
            baseline = self.baselines[key] = SurgeBaseline(window)
        elif baseline.window < window:
            baseline.advance_to(window, th.surge_alpha)
        baseline.count += 1
        if baseline.fired or baseline.updates < th.surge_warmup_windows:
            return
        excess = baseline.count - baseline.mean
        if excess > th.surge_sigmas * math.sqrt(baseline.var) and excess >= th.surge_min_excess:
            baseline.fired = True
            at = at_checkpoint(ctx, event.checkpoint_id)
            message = (
                f"surge at {at.label}: {baseline.count} inbound scans in "
                f"{th.surge_window_s // 60} min (baseline {baseline.mean:.1f})"
            )
            ctx.alerts.append(
                make_alert(
                    "checkpoint-surge",
                    "warning",
                    (event.event_id,),
                    event.event_time,
                    "checkpoint",
                    at,
                    message,
                )
            )

    def on_late(self, ctx: Context, key: str, event: RuleEvent, time: int) -> None:
        """A late checkpoint scan: the reference per-event rules only."""
        if isinstance(event, CleanCheckpointScan):
            scan_alerts(ctx, event, time, None)

    def on_timer(self, ctx: Context, key: str, deadline: int, payload: Any) -> None:
        """The checkpoint family schedules no deadlines."""

    def prune(self, ctx: Context, before: int) -> None:
        """Baselines are kept: one per checkpoint, and the EWMA needs its whole history."""

    def as_json(self) -> dict[str, Any]:
        """The baselines by checkpoint."""
        return {key: b.as_json() for key, b in self.baselines.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckpointFamily:
        """The family ``as_json`` wrote."""
        return cls({key: SurgeBaseline(*row) for key, row in data.items()})
