"""The chaos command's subset (``benchmarks/chaos.py``): each fault once, and its control.

On a broker and a ClickHouse of the test's own, a generated scenario flows at a
steady rate while the worker is killed and restarted, stopped for 20 s, cut off
by a 15 s broker outage, left without ClickHouse for 30 s and joined then left
by a second worker. The oracle must find nothing lost and nothing repeated:
alerts equal to the labels with no record twice (read_committed), every valid
event stored once (through FINAL and after OPTIMIZE FINAL), every bad line
dead-lettered once, no worker failed. The negative control, a kill while the
worker's alerts bypass its transaction, must be caught losing alerts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.chaos import (
    COMBINED_AT,
    FAULTS,
    Cluster,
    make_scenario,
    private_cluster,
    run_faults,
)
from streams.settings import Settings


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with private_cluster(Settings(), tmp_path_factory.mktemp("chaos")) as own:
        yield own


def test_every_fault_once_loses_nothing_and_repeats_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    scenario = make_scenario(tmp_path, 12_000, seed=5)
    assert len(scenario.labels["alerts"]) > 50 and scenario.malformed

    verdict = run_faults(
        cluster, scenario, [(f, COMBINED_AT[f]) for f in FAULTS], tmp_path / "run", rate=100
    )

    assert verdict.passed, "\n".join(verdict.problems) + f"\nlogs: {verdict.folder}"


def test_the_negative_control_is_caught_losing_alerts(cluster: Cluster, tmp_path: Path) -> None:
    scenario = make_scenario(tmp_path, 6_000, seed=6)

    verdict = run_faults(
        cluster, scenario, [("kill", 50)], tmp_path / "control", rate=200, unsafe=True
    )

    assert any("missing" in p for p in verdict.problems), verdict.problems
