"""The key tests: generated scenarios through a simulated worker give exactly the labels.

For three generated scenarios (two over a day, so the 24 h deadlines fire; one busy),
every valid line is decoded and pseudonymised, then spread as the worker will spread
it (``tests/unit/rules_simulation.py``): 6 sources per feed, disorder within
5-minute slices, 1 % exact duplicates, 1 or 3 engine partitions, sources
interleaved at random; watermark markers after each record, idle markers at the
end. The alerts of all engines must be the labels' exactly, with the same alert ids
whatever the spreading; and an engine that crashes once (snapshot, more input,
restore from the JSON text, replay from before the snapshot) changes nothing but
repeating, with the same ids, the alerts it had raised after its snapshot.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.alerts import Alert
from schemas.clean import CleanEvent, EventRecord
from schemas.identity import pseudonym
from streams.devtools.scenario import ScenarioOptions, generate_to, labels_path_for
from tests.unit.rules_simulation import Simulation, clean_file
from tests.unit.rules_support import KEY, diff_report, full, keys

SCENARIOS = {
    "day": ScenarioOptions(
        seed=11, duration_s=26 * 3600, population=3000, rate=0.25, anomaly_rate=0.01
    ),
    "evening": ScenarioOptions(
        seed=12,
        start=datetime.fromisoformat("2022-10-15T21:30:00+08:00"),
        duration_s=26 * 3600,
        population=4000,
        rate=0.2,
        anomaly_rate=0.01,
        malformed_rate=0.01,
    ),
    "busy": ScenarioOptions(
        seed=13, duration_s=3 * 3600, population=20_000, rate=2.0, anomaly_rate=0.003
    ),
}

Labelled = tuple[list[CleanEvent], dict[str, Any]]


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Labelled]:
    """Each scenario's clean events and labels, generated once for the module."""
    out: dict[str, Labelled] = {}
    folder = tmp_path_factory.mktemp("scenarios")
    for name, options in SCENARIOS.items():
        path = folder / f"{name}.jsonl"
        generate_to(path, options)
        labels = json.loads(labels_path_for(path).read_text(encoding="utf-8"))
        malformed = {m["line"] for m in labels["malformed"]}
        out[name] = (clean_file(Path(path), malformed), labels)
    return out


def label_keys(labels: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(a["rule"], a["severity"], tuple(a["evidence"])) for a in labels["alerts"]}


def label_details(labels: dict[str, Any]) -> set[tuple[Any, ...]]:
    """Key, event time and subject of each label, a person as its pseudonym."""
    out = set()
    for a in labels["alerts"]:
        kind, subject = a["subject"]["type"], a["subject"]["id"]
        if kind == "person":
            subject = pseudonym(subject, KEY)
        instant = datetime.fromisoformat(a["event_time"]).timestamp()
        out.add((a["rule"], a["severity"], tuple(a["evidence"]), instant, (kind, subject)))
    return out


@pytest.mark.parametrize("partitions", [1, 3])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_alerts_are_exactly_the_labels(
    scenarios: dict[str, Labelled], name: str, partitions: int
) -> None:
    events, labels = scenarios[name]

    alerts = Simulation(events, seed=partitions, partitions=partitions).run()

    assert keys(alerts) == label_keys(labels), diff_report(keys(alerts), label_keys(labels))
    assert full(alerts) == label_details(labels), diff_report(full(alerts), label_details(labels))
    assert len(alerts) == len(labels["alerts"]), "an alert was raised twice"
    assert len(labels["alerts"]) > 40


def _ids(alerts: list[Alert]) -> dict[tuple[str, str, tuple[str, ...]], str]:
    return {(a.rule, a.severity, a.evidence): a.alert_id for a in alerts}


def test_alert_ids_do_not_depend_on_how_the_input_is_spread(
    scenarios: dict[str, Labelled],
) -> None:
    events, _ = scenarios["busy"]

    one = Simulation(events, seed=21, partitions=1).run()
    three = Simulation(events, seed=22, partitions=3, interleave="timed").run()

    assert _ids(one) == _ids(three)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_crash_and_restore_repeats_lost_alerts_with_their_ids_and_nothing_else(
    scenarios: dict[str, Labelled], name: str
) -> None:
    events, labels = scenarios[name]
    simulation = Simulation(events, seed=31, partitions=3, interleave="timed")

    alerts, lost = simulation.run_with_crash()

    assert lost, "the crashes lost no alert: the test would prove nothing"

    assert keys(alerts) == label_keys(labels), diff_report(keys(alerts), label_keys(labels))
    repeated = Counter(a.alert_id for a in alerts) - Counter(a.alert_id for a in set(alerts))
    assert sorted(repeated.elements()) == sorted(a.alert_id for a in lost)
    assert all(
        len({(a.rule, a.evidence) for a in alerts if a.alert_id == i}) == 1 for i in repeated
    )


def test_the_simulation_really_disorders_and_duplicates(scenarios: dict[str, Labelled]) -> None:
    events, _ = scenarios["busy"]
    (stream,) = Simulation(events, seed=41, partitions=1).streams()
    copies = [e for e in stream if isinstance(e, EventRecord)]
    times = [e.event.event_time for e in copies]

    assert sum(1 for a, b in itertools.pairwise(times) if b < a) > len(times) // 10
    assert len(copies) - len({(e.family, e.key, e.event.event_id) for e in copies}) > 50
