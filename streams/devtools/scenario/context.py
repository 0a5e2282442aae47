"""What the planners share: options, world, plan, risk timeline, thresholds, counters.

Made once per scenario by ``engine``; ``patrol`` and the anomaly makers add their
tracked items through it, so incident numbers and inspection targets never clash.
The thresholds are the rules configuration's: makers size what they inject from
them (a fever at the warning threshold, a check-in exactly one gap later).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rules import Thresholds
from streams.devtools.scenario.options import ScenarioOptions
from streams.devtools.scenario.reference import RiskTimeline
from streams.devtools.scenario.tracked import Plan
from streams.devtools.scenario.world import Venue, World

__all__ = ["INSPECTED_TYPES", "UNITS", "Context"]

UNITS = tuple(f"yc-patrol-{k:02d}" for k in range(1, 9))
"""Patrol units of the Yucheng police branch."""
INSPECTED_TYPES = ("hotel", "restaurant", "pharmacy", "supermarket", "mall", "other")


@dataclass
class Context:
    """Shared state of the planners of one scenario."""

    options: ScenarioOptions
    world: World
    plan: Plan
    risk: RiskTimeline
    rng: random.Random
    thresholds: Thresholds
    """The rules' thresholds the scenario is generated for."""
    incidents: int = 0
    gap_requests: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    """Per key site, (time, gap ms): the check-in after ``time`` comes ``gap`` after the last."""
    crowding_blocks: set[tuple[int, int]] = field(default_factory=set)
    """(venue index, crowding window number) that background scans leave alone."""
    inspected: dict[str, list[int]] = field(default_factory=dict)
    """Times injected inspections start at each target (kept a day apart)."""
    venue_pools: dict[tuple[tuple[str, ...], int], list[Venue]] = field(default_factory=dict)
    """Cache of ``inject.open_venue``: venues by (types, largest capacity)."""
    background_targets: list[Venue] = field(default_factory=list)
    anomaly_targets: list[Venue] = field(default_factory=list)

    def __post_init__(self) -> None:
        candidates = [v for v in self.world.venues if v.type in INSPECTED_TYPES]
        self.anomaly_targets = candidates[::3]
        self.background_targets = [v for k, v in enumerate(candidates) if k % 3]

    def new_incident_id(self) -> str:
        """A fresh incident number."""
        self.incidents += 1
        return f"inc-{self.incidents:06d}"

    @property
    def start(self) -> int:
        """Scenario start, epoch ms."""
        return self.options.start_ms

    @property
    def end(self) -> int:
        """Scenario end (exclusive), epoch ms."""
        return self.options.end_ms
