"""``controlfeed generate --rules``: the scenario and its labels follow an operator's rules file.

The generator reads every threshold and place from the rules configuration:
with thresholds far from the defaults, its labels are still exactly what the
oracle (given the same thresholds) and the engine (given the same file) find;
with a place added and one moved, the engine agrees too. A configuration the
generator cannot keep the background healthy under is refused, naming why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rules import load_config
from streams.cli import main
from streams.devtools.scenario import ScenarioError, ScenarioOptions, generate_to, labels_path_for
from streams.devtools.scenario.engine import check_rules
from tests.oracle import Thresholds as OracleThresholds
from tests.oracle import run_rules
from tests.unit.rules_support import diff_report, in_order, keys

OPTIONS = ScenarioOptions(
    seed=21, duration_s=27 * 3600, population=3000, rate=0.3, anomaly_rate=0.01
)
THRESHOLDS: dict[str, Any] = {
    "fever_warning_c": 37.6,
    "fever_critical_c": 39.0,
    "noncompliance_min_failures": 4,
    "crowding_window_s": 1800,
    "returnee_test_within_s": 43200,
    "impossible_travel_kmh": 120.0,
    "impossible_travel_min_km": 6.0,
    "surge_window_s": 600,
    "surge_alpha": 0.2,
    "surge_warmup_windows": 6,
    "surge_sigmas": 3.0,
    "surge_min_excess": 15.0,
    "dispatch_s": 90,
    "arrive_s": 240,
    "resolve_s": 400,
    "patrol_gap_s": 5400,
    "reinspection_within_s": 36000,
    "allowed_lateness_s": 300,
}
PLACES = """
[places.caoba-toll]
lat = 30.0700
[places.shangli-toll]
name = "上里收费站 Shangli toll station"
kind = "checkpoint"
lat = 30.1200
lon = 103.0900
key_site = true
"""

Records = list[dict[str, Any]]


def _rules_file(folder: Path, text: str) -> Path:
    path = folder / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _generate(folder: Path, rules: Path) -> tuple[Records, dict[str, Any]]:
    """The valid records and the labels of ``OPTIONS`` generated with the rules file."""
    out = folder / "scenario.jsonl"
    generate_to(out, OPTIONS, rules=load_config(rules))
    labels = json.loads(labels_path_for(out).read_text(encoding="utf-8"))
    malformed = {m["line"] for m in labels["malformed"]}
    with out.open("rb") as lines:
        records = [json.loads(line) for n, line in enumerate(lines, 1) if n not in malformed]
    return records, labels


def _labelled(labels: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(a["rule"], a["severity"], tuple(a["evidence"])) for a in labels["alerts"]}


def test_labels_follow_the_thresholds_of_the_rules_file(tmp_path: Path) -> None:
    lines = "\n".join(f"{name} = {value!r}" for name, value in THRESHOLDS.items())
    rules = _rules_file(tmp_path, f"[thresholds]\n{lines}\n")
    records, labels = _generate(tmp_path, rules)
    expected = _labelled(labels)

    oracle = keys(run_rules(records, OracleThresholds(**THRESHOLDS)))
    assert oracle == expected, diff_report(oracle, expected)
    engine = keys(in_order(records, load_config(rules)))
    assert engine == expected, diff_report(engine, expected)
    assert labels["generator"]["rules"] == {"thresholds": THRESHOLDS}
    assert len({rule for rule, _, _ in expected}) >= 12
    fevers = [r["temperature_c"] for r in records if r.get("temperature_c") is not None]
    assert min(t for t in fevers if t >= 37.6) == 37.6  # the new threshold itself is injected
    assert 37.5 in fevers  # and the background goes up to just below it


def test_labels_follow_the_places_of_the_rules_file(tmp_path: Path) -> None:
    rules = _rules_file(tmp_path, PLACES)
    records, labels = _generate(tmp_path, rules)
    expected = _labelled(labels)

    engine = keys(in_order(records, load_config(rules)))
    assert engine == expected, diff_report(engine, expected)
    assert labels["generator"]["rules"] == {"places": ["caoba-toll", "shangli-toll"]}
    scans = {r["checkpoint_id"] for r in records if r["feed"] == "checkpoint_scan"}
    checkins = {r.get("site_id") for r in records if r.get("kind") == "checkin"}
    assert "shangli-toll" in scans and "shangli-toll" in checkins


def test_the_command_takes_a_rules_file_and_names_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.jsonl"
    good = _rules_file(tmp_path, "[thresholds]\nfever_warning_c = 37.5\n")
    args = ["generate", str(out), "--duration", "1h", "--rate", "0.5", "--population", "500"]

    main([*args, "--rules", str(good), "--no-progress"])
    capsys.readouterr()
    labels = json.loads(labels_path_for(out).read_text(encoding="utf-8"))
    assert labels["generator"]["rules"] == {"thresholds": {"fever_warning_c": 37.5}}

    bad = _rules_file(tmp_path, "[thresholds]\nfever_warnng_c = 37.5\n")
    with pytest.raises(SystemExit) as stopped:
        main([*args, "--rules", str(bad), "--no-progress", "--force"])
    assert stopped.value.code == 2
    assert "fever_warnng_c" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\ncrowding_window_s = 1000\n", "not a multiple of surge_window_s"),
        ('[thresholds]\nmedicine_categories = ["other"]\n', "medicine_categories lists 'other'"),
        ("[thresholds]\nimpossible_travel_min_km = 1.5\n", "below 2 km"),
    ],
)
def test_a_configuration_the_background_cannot_stay_healthy_under_is_refused(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        check_rules(load_config(_rules_file(tmp_path, text)))
