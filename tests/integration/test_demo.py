"""The README's main job, ``controlfeed demo``, as a user runs it."""

from __future__ import annotations

import json

from streams.demo import SAMPLE
from streams.stack import Stack
from tests.integration.helpers import run_cli


def test_the_demo_raises_the_sample_alerts_stores_its_events_and_says_how_to_watch_live(
    stack: Stack,
) -> None:
    labelled = len(json.loads(SAMPLE.with_suffix(".labels.json").read_text())["alerts"])

    result = run_cli("demo")

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "3 of 3 checks passed" in result.stdout
    assert f"{labelled} alerts, {labelled} labelled: equal to the labels" in result.stdout
    assert "each valid event once" in result.stdout
    assert "controlfeed query" in result.stdout
    assert "controlfeed alerts --follow" in result.stdout
    assert "throwaway pseudonym key" in result.stdout
