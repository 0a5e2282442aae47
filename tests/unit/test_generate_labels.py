"""The key test: the labels of a generated file are exactly what the rules oracle finds.

For three scenarios (two over a day, so the 24 h deadlines fire; one busy enough
for real crowds and surge baselines), the oracle of tests/oracle runs over the
file without its labelled malformed lines; its set of (rule, severity, evidence)
must equal the labels'. A failure lists every missing and unexpected alert.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from streams.devtools.scenario import ScenarioOptions, generate_to, labels_path_for
from streams.devtools.scenario.anomalies import KINDS
from tests.oracle import run_rules

Key = tuple[str, str, tuple[str, ...]]

SCENARIOS = {
    "day-quiet": ScenarioOptions(
        seed=1, duration_s=27 * 3600, population=3000, rate=0.3, anomaly_rate=0.01
    ),
    "day-from-evening": ScenarioOptions(
        seed=2,
        start=datetime.fromisoformat("2022-10-15T21:30:00+08:00"),
        duration_s=26 * 3600,
        population=4000,
        rate=0.4,
        anomaly_rate=0.01,
        malformed_rate=0.01,
    ),
    "busy-hours": ScenarioOptions(
        seed=3, duration_s=3 * 3600, population=20_000, rate=5.0, anomaly_rate=0.002
    ),
}


PROMISED = {tuple(fire.split("/", 1)) for kind in KINDS for fire in kind.fires}
"""Every (rule, severity) some anomaly kind promises (tests/unit/test_catalogue.py: all of
the catalogue's but those listed as not generated)."""


@pytest.fixture(scope="module")
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("labels") / f"{request.param}.jsonl"
    generate_to(path, SCENARIOS[request.param])
    return path


def _oracle_and_labels(path: Path) -> tuple[dict[Key, object], dict[Key, object]]:
    labels = json.loads(labels_path_for(path).read_text())
    malformed = {m["line"] for m in labels["malformed"]}
    with path.open("rb") as lines:
        events = [json.loads(line) for n, line in enumerate(lines, 1) if n not in malformed]
    found: dict[Key, object] = {alert.key: alert for alert in run_rules(events)}
    expected: dict[Key, object] = {
        (a["rule"], a["severity"], tuple(a["evidence"])): a for a in labels["alerts"]
    }
    return found, expected


@pytest.mark.parametrize("generated", list(SCENARIOS), indirect=True)
def test_labels_equal_the_oracle(generated: Path) -> None:
    found, expected = _oracle_and_labels(generated)

    missing = [expected[k] for k in sorted(expected.keys() - found.keys())]
    unexpected = [found[k] for k in sorted(found.keys() - expected.keys())]
    report = "\n".join(
        [f"labelled but not found by the oracle ({len(missing)}):"]
        + [f"  {a}" for a in missing]
        + [f"found by the oracle but not labelled ({len(unexpected)}):"]
        + [f"  {a}" for a in unexpected]
    )
    assert not missing and not unexpected, report
    assert len(expected) > 20


@pytest.mark.parametrize("generated", ["day-quiet", "day-from-evening"], indirect=True)
def test_a_day_at_a_modest_anomaly_rate_labels_every_rule_and_severity(generated: Path) -> None:
    alerts = json.loads(labels_path_for(generated).read_text())["alerts"]
    labelled = {(alert["rule"], alert["severity"]) for alert in alerts}

    assert labelled == PROMISED, (
        f"promised but not labelled: {sorted(PROMISED - labelled)}; "
        f"labelled but promised by no kind: {sorted(labelled - PROMISED)}"
    )
