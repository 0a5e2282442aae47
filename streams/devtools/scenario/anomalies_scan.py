"""Anomaly makers for the per-scan rules.

Each maker plans, at the anchor time ``t``, scans that fire the rule it is named
after (and, on purpose now and then, a second rule on the same scan: a red code
with fever, a scan without code from a starred city). The labels are derived
from what is planned, so a maker only has to keep its promise of what it injects.
Temperatures and medicines come from the rules' thresholds.
"""

from __future__ import annotations

from typing import Any

from streams.devtools.scenario.clock import HOUR_MS, MINUTE_MS, iso
from streams.devtools.scenario.context import Context
from streams.devtools.scenario.inject import (
    add_checkpoint_scan,
    add_venue_scan,
    checkpoint_person,
    newcomer,
    open_venue,
    risky_travel,
)
from streams.devtools.scenario.tracked import Tracked

__all__ = [
    "closed_venue",
    "code_red",
    "code_yellow",
    "fever_critical",
    "fever_warning",
    "no_code",
    "pharmacy_info",
    "pharmacy_warning",
    "risk_checkpoint_in",
    "risk_checkpoint_out",
    "risk_venue",
    "warning_temperature",
]

_HOTTEST = 40.3
"""The highest temperature injected (degrees Celsius)."""


def warning_temperature(ctx: Context) -> float:
    """``fever_warning_c`` itself (37.3) or a little above, below ``fever_critical_c``."""
    low, high = ctx.thresholds.fever_warning_c, ctx.thresholds.fever_critical_c
    if ctx.rng.random() < 0.25:
        return low
    return round(ctx.rng.uniform(round(low + 0.1, 1), round(high - 0.1, 1)), 1)


def _critical_temperature(ctx: Context) -> float:
    high = ctx.thresholds.fever_critical_c
    if ctx.rng.random() < 0.25:
        return high
    return round(ctx.rng.uniform(round(high + 0.1, 1), _HOTTEST), 1)


def _scan_anywhere(ctx: Context, t: int, with_person: bool = True, **fields: Any) -> Tracked:
    """A scan by a background person at a venue of their grid or their checkpoint.

    A checkpoint scan goes in or out at random; its travel stays safe unless
    ``fields`` say otherwise (then the caller keeps it to ``out`` or without person).
    """
    if ctx.rng.random() < 0.5:
        venue = open_venue(ctx, t)
        person = ctx.world.local_person(ctx.rng, venue) if with_person else None
        return add_venue_scan(ctx, t, venue, person, **fields)
    k = ctx.rng.randrange(len(ctx.world.checkpoints))
    person = checkpoint_person(ctx, k) if with_person else None
    return add_checkpoint_scan(ctx, t, k, ctx.rng.choice(("in", "out")), person, **fields)


def risk_checkpoint_in(ctx: Context, t: int) -> None:
    """risk-area-visitor critical: a newcomer enters with risky travel, then gets tested."""
    person = newcomer(ctx)
    k = ctx.rng.randrange(len(ctx.world.checkpoints))
    add_checkpoint_scan(ctx, t, k, "in", person, travel=risky_travel(ctx, t))
    sampled = t + ctx.rng.randrange(1 * HOUR_MS, 4 * HOUR_MS)
    shown = sampled + ctx.rng.randrange(10 * MINUTE_MS, 3 * HOUR_MS)
    if shown < ctx.end:
        venue = open_venue(ctx, shown, ("hotel", "restaurant", "supermarket"))
        nat = {"result": "negative", "sampled_at": iso(sampled)}
        add_venue_scan(ctx, shown, venue, person, nat=nat)


def risk_venue(ctx: Context, t: int) -> None:
    """risk-area-visitor warning: a venue scan whose travel code is risky."""
    venue = open_venue(ctx, t, ("bus_station", "hotel"))
    person = ctx.world.local_person(ctx.rng, venue)
    add_venue_scan(ctx, t, venue, person, travel=risky_travel(ctx, t))


def risk_checkpoint_out(ctx: Context, t: int) -> None:
    """risk-area-visitor warning: leaving through a checkpoint with a starred travel code."""
    k = ctx.rng.randrange(len(ctx.world.checkpoints))
    travel = {"star": True, "areas": ["511802"]}
    add_checkpoint_scan(ctx, t, k, "out", checkpoint_person(ctx, k), travel=travel)


def code_yellow(ctx: Context, t: int) -> None:
    """health-code-abnormal warning, now and then with a fever."""
    extra: dict[str, Any] = {}
    if ctx.rng.random() < 0.3:
        extra["temperature_c"] = warning_temperature(ctx)
    _scan_anywhere(ctx, t, health_code="yellow", **extra)


def code_red(ctx: Context, t: int) -> None:
    """health-code-abnormal critical, now and then with a high fever."""
    extra: dict[str, Any] = {}
    if ctx.rng.random() < 0.3:
        extra["temperature_c"] = _critical_temperature(ctx)
    _scan_anywhere(ctx, t, health_code="red", **extra)


def no_code(ctx: Context, t: int) -> None:
    """no-code: a scan without a health code (and person), now and then from a starred city."""
    extra: dict[str, Any] = {}
    if ctx.rng.random() < 0.3:
        extra["travel"] = {"star": True, "areas": ["511802"]}
    _scan_anywhere(ctx, t, with_person=False, health_code="none", **extra)


def fever_warning(ctx: Context, t: int) -> None:
    """fever warning: from ``fever_warning_c`` (37.3) to just below ``fever_critical_c``."""
    _scan_anywhere(ctx, t, temperature_c=warning_temperature(ctx))


def fever_critical(ctx: Context, t: int) -> None:
    """fever critical: ``fever_critical_c`` (38.5) and up."""
    _scan_anywhere(ctx, t, temperature_c=_critical_temperature(ctx))


def _pharmacy_purchase(ctx: Context, t: int, registered: bool) -> None:
    venue = open_venue(ctx, t, ("pharmacy",))
    medicines = tuple(ctx.thresholds.medicine_categories)
    purchase = {"category": ctx.rng.choice(medicines), "registered": registered}
    add_venue_scan(ctx, t, venue, ctx.world.local_person(ctx.rng, venue), purchase=purchase)


def pharmacy_info(ctx: Context, t: int) -> None:
    """pharmacy-fever-purchase info: a registered purchase of fever or cough medicine."""
    _pharmacy_purchase(ctx, t, True)


def pharmacy_warning(ctx: Context, t: int) -> None:
    """pharmacy-fever-purchase warning: the same purchase, not registered (a failing scan)."""
    _pharmacy_purchase(ctx, t, False)


def closed_venue(ctx: Context, t: int) -> None:
    """closed-venue-activity: a scan at a mahjong parlour closed at ``t``."""
    closed = [v for v in ctx.world.by_type["mahjong"] if not ctx.world.open_at(v, t)]
    venue = ctx.rng.choice(closed)
    add_venue_scan(ctx, t, venue, ctx.world.local_person(ctx.rng, venue))
