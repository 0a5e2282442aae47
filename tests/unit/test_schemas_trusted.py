"""``schemas.trusted``: events rebuilt from their own JSON equal the validated ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import Rejected, decode
from schemas.clean import CleanEvent, load_clean_event, pseudonymise
from schemas.trusted import load_trusted_event
from streams.scenario import ScenarioOptions, generate_to
from tests.unit.rules_support import KEY


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[CleanEvent]:
    """Every valid record of a generated day: all five feeds, every optional field."""
    path = Path(tmp_path_factory.mktemp("trusted")) / "day.jsonl"
    generate_to(path, ScenarioOptions(seed=3, duration_s=26 * 3600, rate=0.2, anomaly_rate=0.02))
    out = []
    for line in path.read_bytes().splitlines():
        decoded = decode(line)
        if not isinstance(decoded, Rejected):
            out.append(pseudonymise(decoded, KEY))
    return out


def test_every_event_comes_back_equal_and_serialises_the_same(events: list[CleanEvent]) -> None:
    feeds = set()
    for event in events:
        data = json.loads(json.dumps(event.model_dump(mode="json", exclude_none=True)))

        trusted = load_trusted_event(data)

        assert trusted == load_clean_event(data) == event
        assert trusted.model_dump_json(exclude_none=True) == event.model_dump_json(
            exclude_none=True
        )
        feeds.add(event.feed)
    assert feeds == {"checkpoint_scan", "venue_scan", "patrol_event", "risk_area", "venue"}


def test_nested_values_get_their_python_types(events: list[CleanEvent]) -> None:
    scan = next(e for e in events if e.feed == "checkpoint_scan" and e.nat is not None)
    data = json.loads(scan.model_dump_json(exclude_none=True))

    trusted = load_trusted_event(data)

    assert isinstance(trusted.travel.areas, tuple)  # type: ignore[union-attr]
    assert trusted.nat.sampled_at == scan.nat.sampled_at  # type: ignore[union-attr]
    assert trusted.event_time.utcoffset() == scan.event_time.utcoffset()


def test_what_is_not_such_json_raises() -> None:
    with pytest.raises(KeyError):
        load_trusted_event({"feed": "nonsense"})
    with pytest.raises(ValueError):
        load_trusted_event({"feed": "risk_area", "event_time": "yesterday"})
