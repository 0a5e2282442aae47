"""Engine checkpoints (``Engine.checkpoint`` / ``from_checkpoint``), as the worker uses them.

The worker's engine stage checkpoints an engine at offset S, commits alerts and
offsets up to C >= S, and may be killed at K > C (what it did after C is
aborted, never seen). The next owner restores the checkpoint, replays S..C
without sending alerts, and sends from C on. These tests run that on generated
scenarios that hold every rule family, through the bytes the worker stores,
and require the alerts sent to be those of a run that never crashed: none
lost, none repeated. A checkpoint that is not one this version wrote raises
``SnapshotError``, so the worker rebuilds instead.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from rules import Engine, SnapshotError, default_config
from rules.state import SNAPSHOT_VERSION
from schemas.alerts import Alert
from schemas.clean import FAMILIES, Envelope
from streams.devtools.scenario import ScenarioOptions, generate_to, labels_path_for
from tests.unit.rules_simulation import Simulation, clean_file

OPTIONS = ScenarioOptions(
    seed=14, duration_s=26 * 3600, population=3000, rate=0.3, anomaly_rate=0.01
)


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> list[list[Envelope]]:
    """What each of 3 engine partitions receives for a day with every rule in it."""
    path = tmp_path_factory.mktemp("checkpoint") / "day.jsonl"
    generate_to(path, OPTIONS)
    labels = json.loads(labels_path_for(path).read_text(encoding="utf-8"))
    events = clean_file(path, {m["line"] for m in labels["malformed"]})
    return Simulation(events, seed=5, partitions=3, interleave="timed").streams()


def _sent_with_a_kill(stream: list[Envelope], rng: random.Random) -> tuple[list[Alert], Engine]:
    """The alerts a reader sees of one partition whose engine is killed once; the engine
    as checkpointed (for the family check)."""
    n = len(stream)
    s = rng.randrange(n // 4, n // 2)  # checkpoint
    c = rng.randrange(s, s + n // 8)  # committed offset
    k = rng.randrange(c, c + n // 8)  # killed here: c..k aborted
    first = Engine(default_config())
    sent = first.feed_all(stream[:s])
    raw = first.checkpoint()
    sent += first.feed_all(stream[s:c])
    first.feed_all(stream[c:k])  # aborted with the transaction: never seen
    second = Engine.from_checkpoint(raw, default_config())
    second.feed_all(stream[s:c])  # replayed: its alerts went out before the kill
    sent += second.feed_all(stream[c:])
    return sent, Engine.from_checkpoint(raw, default_config())


def test_a_kill_and_a_restore_send_exactly_the_alerts_of_a_run_without_one(
    streams: list[list[Envelope]],
) -> None:
    rng = random.Random(3)  # noqa: S311 - test data
    for stream in streams:
        whole = Engine(default_config()).feed_all(stream)

        for _ in range(3):
            sent, _engine = _sent_with_a_kill(stream, rng)

            assert Counter(a.alert_id for a in sent) == Counter(a.alert_id for a in whole)
    assert sum(len(Engine(default_config()).feed_all(s)) for s in streams) > 40


def test_the_checkpoint_carries_every_family_and_the_buffer(
    streams: list[list[Envelope]],
) -> None:
    rng = random.Random(4)  # noqa: S311 - test data
    held: set[str] = set()
    for stream in streams:
        _sent, restored = _sent_with_a_kill(stream, rng)
        data = restored.snapshot()
        held |= {name for name in FAMILIES if data["families"][name] not in ({}, [], None)}
        assert restored.buffered > 0 and restored.seen_ids > 0

    assert held == set(FAMILIES)


def test_a_checkpoint_survives_bytes_unchanged() -> None:
    engine = Engine(default_config())
    raw = engine.checkpoint()

    assert Engine.from_checkpoint(raw).checkpoint() == raw
    assert json.loads(raw)["version"] == SNAPSHOT_VERSION


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"version": 999}',
        json.dumps({"version": SNAPSHOT_VERSION, "sources": "nonsense"}).encode(),
    ],
    ids=["empty", "not-json", "other-version", "damaged"],
)
def test_a_checkpoint_of_another_version_or_damaged_is_refused(raw: bytes) -> None:
    with pytest.raises(SnapshotError):
        Engine.from_checkpoint(raw)


def test_rows_remembered_from_the_last_encode_give_the_same_bytes(
    streams: list[list[Envelope]],
) -> None:
    """The worker's encoder keeps each buffered event's row between checkpoints
    (``StateImage.encode(cache)``); what it writes must not depend on that."""
    stream = streams[0]
    engine = Engine(default_config())
    cache: dict[int, bytes] = {}
    engine.feed_all(stream[: len(stream) // 3])
    first = engine.image().encode(cache)
    kept = dict(cache)
    engine.feed_all(stream[len(stream) // 3 : len(stream) // 3 + 40])
    image = engine.image()
    second = image.encode(cache)

    assert first == Engine.from_checkpoint(first).checkpoint()
    assert second == image.encode()
    assert set(cache) == {row[2] for row in image.buffer}
    assert cache.keys() - kept.keys(), "no new row was encoded: the test shows nothing"
    assert kept.keys() & cache.keys(), "no row was reused: the test shows nothing"
    assert Engine.from_checkpoint(second).checkpoint() == second
