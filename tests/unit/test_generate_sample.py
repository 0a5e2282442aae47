"""data/sample is fresh: the command of docs/scenarios.md regenerates it byte for byte."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from streams.cli import main
from streams.devtools.scenario.anomalies import KINDS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


def documented_command() -> list[str]:
    """The sample's command line as docs/scenarios.md shows it."""
    lines = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8").splitlines()
    command = [line for line in lines if line.startswith("controlfeed generate data/sample/")]
    assert len(command) == 1, "docs/scenarios.md should show the sample's command once"
    return shlex.split(command[0])[1:]


def test_the_documented_command_regenerates_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = documented_command()
    args[args.index("data/sample/scenario.jsonl")] = str(tmp_path / "scenario.jsonl")

    main(args)

    capsys.readouterr()
    for name in ("scenario.jsonl", "scenario.labels.json"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), (
            f"data/sample/{name} is stale: run the command in docs/scenarios.md and commit"
        )


def test_the_sample_is_small_covers_a_day_and_every_rule() -> None:
    labels = json.loads((SAMPLE / "scenario.labels.json").read_text(encoding="utf-8"))
    rules = {(a["rule"], a["severity"]) for a in labels["alerts"]}

    assert (SAMPLE / "scenario.jsonl").stat().st_size < 1_000_000
    assert labels["generator"]["options"]["duration"] == "26h"
    promised = {tuple(fire.split("/", 1)) for kind in KINDS for fire in kind.fires}
    assert rules == promised  # every rule and severity an anomaly kind injects
    assert ("inspection-failed", "critical") in rules
