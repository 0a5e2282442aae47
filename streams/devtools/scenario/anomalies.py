"""The catalogue of injections and their schedule over the scenario.

``plan_anomalies`` is called by ``engine`` once, before the background patrols
are planned (patrol gaps shape the check-in schedule). It cycles through
``KINDS`` in shuffled rounds, so that every kind comes once before any comes
twice, and anchors each at a random time where its consequences (a deadline
24 h later, a surge baseline that needs an hour of warm-up) fit in the scenario:
those spans follow the rules' thresholds. A kind that cannot fit (a 24 h
deadline in a 1 h scenario) is skipped.

A kind promises alerts (``fires``, ``rule/severity``) of the rule catalogue
(``schemas.catalogue``); a rule no kind promises is allowed, and
tests/unit/test_catalogue.py lists it as not generated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rules import Thresholds
from streams.devtools.scenario import anomalies_near as near
from streams.devtools.scenario import anomalies_patrol as police
from streams.devtools.scenario import anomalies_scan as scan
from streams.devtools.scenario import anomalies_window as window
from streams.devtools.scenario.clock import HOUR_MS, MINUTE_MS
from streams.devtools.scenario.context import Context

__all__ = ["KINDS", "Kind", "plan_anomalies"]

Span = Callable[[Thresholds], int]
"""Milliseconds, for the rules' thresholds."""


def _minute(th: Thresholds) -> int:
    return MINUTE_MS


def _short(th: Thresholds) -> int:
    return 20 * MINUTE_MS


def _test_due(th: Thresholds) -> int:
    """A returnee's test deadline (24 h), and half an hour for the watermark."""
    return th.returnee_test_within_s * 1000 + 30 * MINUTE_MS


def _reinspection_due(th: Thresholds) -> int:
    """The re-inspection deadline (24 h), and half an hour for the watermark."""
    return th.reinspection_within_s * 1000 + 30 * MINUTE_MS


def _warm_baseline(th: Thresholds) -> int:
    """The surge baseline's warm-up (12 windows of 5 minutes), and a quarter of an hour."""
    return th.surge_warmup_windows * th.surge_window_s * 1000 + 15 * MINUTE_MS


def _half_hour(th: Thresholds) -> int:
    return 30 * MINUTE_MS


def _gap_and(extra_ms: int) -> Span:
    """A patrol gap (2 h) and ``extra_ms``."""
    return lambda th: th.patrol_gap_s * 1000 + extra_ms


@dataclass(frozen=True)
class Kind:
    """One way of injecting: what it plans and which alerts it is there for."""

    name: str
    make: Callable[[Context, int], None]
    fires: tuple[str, ...]
    """``rule/severity`` it promises (empty for near misses); others may come along."""
    lead: Span = _minute
    """Earliest anchor after the start."""
    horizon: Span = _short
    """Event time it needs after the anchor."""


KINDS: tuple[Kind, ...] = (
    Kind("risk-checkpoint-in", scan.risk_checkpoint_in, ("risk-area-visitor/critical",)),
    Kind("risk-venue", scan.risk_venue, ("risk-area-visitor/warning",)),
    Kind("risk-checkpoint-out", scan.risk_checkpoint_out, ("risk-area-visitor/warning",)),
    Kind("code-yellow", scan.code_yellow, ("health-code-abnormal/warning",)),
    Kind("code-red", scan.code_red, ("health-code-abnormal/critical",)),
    Kind("no-code", scan.no_code, ("no-code/warning",)),
    Kind("fever-warning", scan.fever_warning, ("fever/warning",)),
    Kind("fever-critical", scan.fever_critical, ("fever/critical",)),
    Kind("pharmacy-info", scan.pharmacy_info, ("pharmacy-fever-purchase/info",)),
    Kind("pharmacy-warning", scan.pharmacy_warning, ("pharmacy-fever-purchase/warning",)),
    Kind("closed-venue", scan.closed_venue, ("closed-venue-activity/critical",)),
    Kind("noncompliance", window.noncompliance, ("venue-noncompliance/warning",)),
    Kind("crowding", window.crowding, ("crowding/warning",)),
    Kind("surge", window.surge, ("checkpoint-surge/warning",), _warm_baseline),
    Kind("impossible-travel", window.impossible_travel, ("impossible-travel/warning",)),
    Kind(
        "returnee-untested",
        window.returnee_untested,
        ("risk-area-visitor/critical", "returnee-untested/critical"),
        horizon=_test_due,
    ),
    Kind("police-incident", police.police_incident, ("police-incident/warning",)),
    Kind("sla-breach", police.sla_breach, ("response-sla-breach/critical",)),
    Kind(
        "patrol-gap",
        police.patrol_gap,
        ("patrol-gap/warning",),
        _half_hour,
        _gap_and(90 * MINUTE_MS),
    ),
    Kind("inspection-failed", police.inspection_failed, ("inspection-failed/warning",)),
    Kind(
        "inspection-escalation",
        police.inspection_escalation,
        ("inspection-failed/warning", "inspection-failed/critical"),
        horizon=_reinspection_due,
    ),
    Kind("near-37.2", near.temperature_37_2, ()),
    Kind("near-calm-area", near.calm_area, ()),
    Kind("near-staff-mask", near.staff_mask, ()),
    Kind("near-sla-boundary", near.sla_boundary, ()),
    Kind("near-arrived-first", near.arrived_first, ()),
    Kind(
        "near-reinspection-24h",
        near.reinspection_boundary,
        ("inspection-failed/warning",),
        horizon=_reinspection_due,
    ),
    Kind(
        "near-test-at-24h",
        near.returnee_boundary,
        ("risk-area-visitor/critical",),
        horizon=_test_due,
    ),
    Kind("near-checkin-2h", near.checkin_boundary, (), _half_hour, _gap_and(HOUR_MS)),
    Kind("near-two-failures", near.two_failures, ()),
    Kind("near-midnight", near.midnight_failures, ()),
    Kind("near-4km", near.near_distance, ()),
    Kind("near-before-closure", near.before_closure, ()),
)


def _span(ctx: Context, kind: Kind) -> tuple[int, int]:
    return ctx.start + kind.lead(ctx.thresholds), ctx.end - kind.horizon(ctx.thresholds)


def plan_anomalies(ctx: Context, count: int) -> dict[str, int]:
    """Plan ``count`` injections; returns how many of each kind were planned."""
    fitting = [k for k in KINDS if _span(ctx, k)[0] < _span(ctx, k)[1]]
    order: list[Kind] = []
    while fitting and len(order) < count:
        round_ = list(fitting)
        ctx.rng.shuffle(round_)
        order.extend(round_)
    planned: dict[str, int] = {}
    for kind in order[:count]:
        low, high = _span(ctx, kind)
        kind.make(ctx, ctx.rng.randrange(low, high))
        planned[kind.name] = planned.get(kind.name, 0) + 1
    return planned
