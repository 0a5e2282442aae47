"""``controlfeed worker`` on generated scenarios: exactly their labels, however they arrive.

Every run is a real worker subprocess on topics, an engine topic and a
consumer group of its own (all named with one random tag), fed by
``controlfeed replay`` or by a producer of this module, then left to settle.
The runs are made once per module (the workers of a batch side by side) and
several tests read them:

- three seeds of 26 h scenarios (about 3,000 lines each, every rule), replayed
  as fast as possible: the alerts are exactly the labels;
- one 2 h scenario replayed three ways: paced by event time (about 15 s of
  wall clock), as fast as possible, and shuffled within 5-minute slices of
  event time, spread over partitions at random, with exact duplicates: the
  same labels and the same ``alert_id`` s each time (one pseudonym key for all
  runs, so person keys, hence ids, agree);
- every topic a run's worker writes (all that carry the run's tag, except the
  input feeds and the dead letters) holds no raw ID or phone number, while
  the input topics do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import re
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka.admin import AdminClient

from streams.devtools.replay.routing import Router, event_time
from streams.devtools.scenario import ScenarioOptions, generate_to
from streams.devtools.scenario.options import labels_path_for
from streams.devtools.stack import Stack
from streams.devtools.stack.process import terminate
from streams.kafka import clients
from streams.settings import Settings
from tests.integration.helpers import (
    ENGINE_PARTITIONS,
    ID_NUMBER,
    PHONE,
    alert_identity,
    assert_labelled,
    own_topics,
    read_all,
    run_cli,
    settle_all,
    start_worker,
    wait_ready,
)

SEEDS = (11, 23, 42)
"""Seeds of the full-day scenarios, each through a worker of its own."""
START = datetime.fromisoformat("2022-10-14T06:00:00+08:00")
LONG = ScenarioOptions(
    start=START, duration_s=26 * 3600, population=2000, rate=0.025, anomaly_rate=0.02,
    malformed_rate=0.012,
)  # fmt: skip
"""The sample's options (``docs/scenarios.md``): every rule and severity, ~3,000 lines."""
SHORT = ScenarioOptions(
    seed=5, start=START, duration_s=2 * 3600, population=2000, rate=0.3, anomaly_rate=0.03,
    malformed_rate=0.005,
)  # fmt: skip
"""Two hours of event time, ~2,700 lines, ~50 alerts of 17 rule/severity pairs."""
PACED_WALL_S = 15.0
"""Wall-clock length of the paced replay of SHORT."""
SLICE_S = 300
"""Shuffle window of event time: half the allowed lateness (600 s)."""
DUPLICATE_SHARE = 0.02
"""Share of lines sent twice (the copy in the same slice) by the shuffled run."""
SETTLE_S = 90.0
"""Bound on waiting for the alerts of a batch of runs to stop growing."""

Feeder = Callable[["Run"], None]
"""Sends a run's scenario to its input topics (in a thread of its own)."""

pytestmark = pytest.mark.integration


@dataclass
class Run:
    """One worker on one scenario: its names, files, and what came out."""

    name: str
    tag: str
    """In every topic and group name of the run."""
    settings: Settings
    scenario: Path
    log: Path
    options: ScenarioOptions
    alerts: list[dict[str, Any]] = field(default_factory=list)
    feed_seconds: float = 0.0
    """Wall time the feeder took."""
    shuffle: Counter[str] = field(default_factory=Counter)
    """What the shuffled feeder did (records, inversions, duplicates, partitions)."""

    @property
    def labels(self) -> dict[str, Any]:
        """The scenario's labels file."""
        labels: dict[str, Any] = json.loads(labels_path_for(self.scenario).read_text())
        return labels

    def context(self) -> str:
        """Options, files and the end of the worker log, for failure messages."""
        return (
            f"run {self.name}: options {self.options.as_json()}, scenario {self.scenario}\n"
            f"worker log ({self.log}):\n{self.log.read_text(errors='replace')[-3000:]}"
        )


def _new_run(base: Settings, name: str, scenario: Path, options: ScenarioOptions) -> Run:
    """A run whose topics, engine topic and group all carry one fresh tag."""
    tag = uuid.uuid4().hex[:8]
    settings = own_topics(base, tag=tag).model_copy(
        update={
            "topic_engine": f"test.engine.{tag}",
            "engine_partitions": ENGINE_PARTITIONS,
            "worker_group": f"test-worker-{tag}",
        }
    )
    log = scenario.parent / name / "worker.log"
    log.parent.mkdir(parents=True)
    return Run(name, tag, settings, scenario, log, options)


def _execute(runs: list[Run], feeders: list[Feeder], key: str) -> None:
    """Start a worker per run, feed each run once all are ready, settle, read the alerts."""
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for run in runs:
            workers.append(start_worker(run.settings, run.log, key))
        for run in runs:
            wait_ready(run.log, 60)
        time.sleep(4)  # the input is idle when the burst comes: sources must wake in time
        with ThreadPoolExecutor(len(runs)) as pool:
            for done in [
                pool.submit(_timed, feed, run) for run, feed in zip(runs, feeders, strict=True)
            ]:
                done.result()
        settle_all(
            [(run.settings, w, run.log) for run, w in zip(runs, workers, strict=True)], SETTLE_S
        )
    finally:
        for worker in workers:
            terminate(worker)
    for run in runs:
        records = read_all(run.settings, run.settings.topic_alerts, run.settings.topic_partitions)
        run.alerts = [json.loads(value) for _, _, value, _ in records]


def _timed(feed: Feeder, run: Run) -> None:
    """Run ``feed`` on ``run`` and note its wall time."""
    started = time.monotonic()
    feed(run)
    run.feed_seconds = time.monotonic() - started


def _replay(*options: str) -> Feeder:
    """A feeder running ``controlfeed replay OPTIONS`` on the run's scenario."""

    def feed(run: Run) -> None:
        done = run_cli(
            "replay", "--no-progress", *options, str(run.scenario), settings=run.settings
        )
        assert done.returncode == 0, f"replay of {run.name} failed:\n{done.stdout}{done.stderr}"

    return feed


def _shuffled(seed: int) -> Feeder:
    """A feeder sending the scenario's lines shuffled within SLICE_S slices of event time.

    Every line keeps its bytes and the key ``controlfeed replay`` would give it,
    goes to its feed's topic on a random partition, and DUPLICATE_SHARE of the
    lines are sent a second time (same bytes) within their slice. Lines without
    a readable time (malformed) stay in the slice of the line before them.
    """

    def feed(run: Run) -> None:
        rng = random.Random(seed)  # noqa: S311 - test data, not security
        slices: dict[int, list[bytes]] = {}
        origin: float | None = None
        current = 0
        for line in run.scenario.read_bytes().splitlines():
            if not line.strip():
                continue
            when = event_time(line)
            if when is not None:
                origin = when if origin is None else origin
                current = int((when - origin) // SLICE_S)
            slices.setdefault(current, []).append(line)
        order: list[bytes] = []
        for index in sorted(slices):
            lines = slices[index]
            copies = [line for line in lines if rng.random() < DUPLICATE_SHARE]
            lines = lines + copies
            rng.shuffle(lines)
            order += lines
            run.shuffle["duplicates"] += len(copies)
        _produce(run, order, rng)

    return feed


def _produce(run: Run, lines: list[bytes], rng: random.Random) -> None:
    """Send ``lines`` in this order, each to a random partition of its feed's topic."""
    router = Router(run.settings.feed_topics())
    failed: list[str] = []

    def delivered(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            failed.append(str(err))

    producer = clients.producer(run.settings, "test-shuffle", **{"linger.ms": 20})
    previous: float | None = None
    for line in lines:
        topic, key = router.route(line)
        partition = rng.randrange(run.settings.topic_partitions)
        producer.produce(topic, value=line, key=key, partition=partition, on_delivery=delivered)
        producer.poll(0)
        run.shuffle["records"] += 1
        run.shuffle[f"{topic}/{partition}"] += 1
        when = event_time(line)
        if when is not None:
            run.shuffle["inversions"] += int(previous is not None and when < previous)
            previous = when
    left = producer.flush(30)
    assert left == 0 and not failed, f"{left} not delivered, failures: {failed[:5]}"


@pytest.fixture(scope="module")
def pseudonym_key() -> str:
    """One key for every worker of the module, so equal input gives equal alert ids."""
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def tags(stack: Stack, settings: Settings) -> Iterator[list[str]]:
    """Tags of the module's runs; every topic and group carrying one is removed at the end."""
    made: list[str] = []
    yield made
    admin = clients.admin_client(settings, log_level=2)
    names = [n for n in admin.list_topics(timeout=10).topics if any(t in n for t in made)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=30).values():
            future.result()
    groups = [f"test-worker-{t}" for t in made]
    for future in admin.delete_consumer_groups(groups, request_timeout=10).values():
        with contextlib.suppress(KafkaException):  # a group that never committed is absent
            future.result()


@pytest.fixture(scope="module")
def seed_runs(
    settings: Settings,
    tags: list[str],
    pseudonym_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[int, Run]:
    """The three full-day scenarios, each replayed as fast as possible through its own worker."""
    folder = tmp_path_factory.mktemp("seeds")
    runs: dict[int, Run] = {}
    for seed in SEEDS:
        options = dataclasses.replace(LONG, seed=seed)
        scenario = folder / f"seed{seed}.jsonl"
        generate_to(scenario, options)
        runs[seed] = _new_run(settings, f"seed{seed}", scenario, options)
        tags.append(runs[seed].tag)
    batch = list(runs.values())
    _execute(batch, [_replay() for _ in batch], pseudonym_key)
    return runs


@pytest.fixture(scope="module")
def short_runs(
    settings: Settings,
    tags: list[str],
    pseudonym_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Run]:
    """The short scenario paced by event time, as fast as possible, and shuffled."""
    folder = tmp_path_factory.mktemp("short")
    scenario = folder / "short.jsonl"
    generate_to(scenario, SHORT)
    speed = SHORT.duration_s / PACED_WALL_S
    feeders: dict[str, Feeder] = {
        "paced": _replay("--speed", f"{speed:g}"),
        "fast": _replay(),
        "shuffled": _shuffled(SHORT.seed),
    }
    runs = {name: _new_run(settings, name, scenario, SHORT) for name in feeders}
    tags.extend(run.tag for run in runs.values())
    _execute(list(runs.values()), list(feeders.values()), pseudonym_key)
    return runs


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_scenarios_raise_exactly_their_labels(
    seed_runs: dict[int, Run], seed: int
) -> None:
    run = seed_runs[seed]
    assert run.labels["alerts"], "the scenario should expect alerts"
    assert_labelled(run.alerts, run.labels, run.context())


def _ids(run: Run) -> dict[str, dict[str, Any]]:
    """The run's alerts by ``alert_id`` (a repeated alert counts once)."""
    return {a["alert_id"]: a for a in run.alerts}


def _same_ids(run: Run, reference: Run) -> None:
    """``run`` published exactly the alert ids of ``reference``; the message lists the others."""
    got, want = _ids(run), _ids(reference)

    def show(alerts: dict[str, dict[str, Any]], ids: set[str]) -> list[str]:
        """One readable line per alert id: identity, time, subject."""
        return sorted(
            f"{i} {alert_identity(alerts[i])} {alerts[i]['event_time']} {alerts[i]['subject']}"
            for i in ids
        )

    missing, unexpected = show(want, set(want) - set(got)), show(got, set(got) - set(want))
    assert set(got) == set(want), (
        f"{run.name} vs {reference.name}\nmissing {len(missing)}:\n" + "\n".join(missing)
        + f"\nunexpected {len(unexpected)}:\n" + "\n".join(unexpected) + "\n" + run.context()
    )  # fmt: skip


def test_real_speed_and_fast_replays_give_the_same_alert_ids(short_runs: dict[str, Run]) -> None:
    paced, fast = short_runs["paced"], short_runs["fast"]
    times = [event_time(line) for line in paced.scenario.read_bytes().splitlines()]
    span = max(t for t in times if t is not None) - min(t for t in times if t is not None)
    speed = SHORT.duration_s / PACED_WALL_S
    assert paced.feed_seconds >= 0.9 * span / speed, f"not paced: {paced.feed_seconds:.1f} s"
    assert_labelled(fast.alerts, fast.labels, fast.context())
    assert_labelled(paced.alerts, paced.labels, paced.context())
    _same_ids(paced, fast)


def test_shuffled_spread_and_duplicated_input_gives_the_same_alert_ids(
    short_runs: dict[str, Run],
) -> None:
    shuffled, fast = short_runs["shuffled"], short_runs["fast"]
    stats = shuffled.shuffle
    lines = sum(1 for line in shuffled.scenario.read_bytes().splitlines() if line.strip())
    assert stats["records"] == lines + stats["duplicates"] and stats["duplicates"] > 10, stats
    assert stats["inversions"] > lines / 10, f"hardly shuffled: {stats}"
    topics = set(shuffled.settings.feed_topics().values())
    spread = {t: [stats[f"{t}/{p}"] for p in range(shuffled.settings.topic_partitions)]
              for t in topics}  # fmt: skip
    busy = [t for t in topics if sum(spread[t]) >= 30]  # the risk list has a handful of records
    assert len(busy) >= 3 and all(all(spread[t]) for t in busy), f"not spread: {spread}"
    assert_labelled(shuffled.alerts, shuffled.labels, shuffled.context())
    _same_ids(shuffled, fast)


def _personal_numbers(scenario: Path) -> set[bytes]:
    """Every ID and phone number of the scenario's readable lines."""
    values: set[bytes] = set()
    for line in scenario.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(record, dict):
            for name in ("person_id", "phone"):
                if isinstance(record.get(name), str) and len(record[name]) >= 11:
                    values.add(record[name].encode())
    return values


def _leaks(blob: bytes, numbers: set[bytes]) -> list[str]:
    """What in ``blob`` looks like, or is, a raw ID or phone number."""
    found = [f"ID number {m.group().decode()}" for m in ID_NUMBER.finditer(blob)]
    found += [f"phone number {m.group().decode()}" for m in PHONE.finditer(blob)]
    for run in re.finditer(rb"[0-9X]{11,}", blob):  # a number of the file, even inside hex
        digits = run.group()
        for size in (11, 18):
            for at in range(len(digits) - size + 1):
                if digits[at : at + size] in numbers:
                    found.append(f"the scenario's number {digits[at : at + size].decode()}")
    return found


def _written_topics(run: Run, admin: AdminClient) -> dict[str, int]:
    """Partitions of every topic carrying the run's tag, except the input feeds and dead letters."""
    inputs = {*run.settings.feed_topics().values(), run.settings.topic_dead_letter}
    return {
        name: len(meta.partitions)
        for name, meta in admin.list_topics(timeout=10).topics.items()
        if run.tag in name and name not in inputs
    }


def test_no_raw_id_or_phone_number_in_any_topic_the_worker_writes(
    seed_runs: dict[int, Run], short_runs: dict[str, Run], settings: Settings
) -> None:
    admin = clients.admin_client(settings, log_level=2)
    leaks: list[str] = []
    scanned: dict[str, int] = {}
    for run in [*seed_runs.values(), *short_runs.values()]:
        numbers = _personal_numbers(run.scenario)
        assert len(numbers) > 100, f"{run.name}: the scenario should carry ID and phone numbers"
        inputs = b"\n".join(
            value
            for topic in run.settings.feed_topics().values()
            for _, _, value, _ in read_all(run.settings, topic, run.settings.topic_partitions)
        )
        assert ID_NUMBER.search(inputs), f"{run.name}: no ID number found in the input topics"
        assert PHONE.search(inputs), f"{run.name}: no phone number found in the input topics"
        written = _written_topics(run, admin)
        s = run.settings
        assert {s.topic_alerts, s.topic_engine} <= set(written), f"{run.name}: {sorted(written)}"
        for topic, partitions in written.items():
            records = read_all(run.settings, topic, partitions)
            scanned[topic] = len(records)
            for partition, key, value, headers in records:
                for blob in (key, value, *(k.encode() for k in headers), *headers.values()):
                    leaks += [f"{topic}/{partition}: {x}" for x in _leaks(blob, numbers)]
    assert sum(scanned.values()) > 0, f"nothing scanned: {scanned}"
    assert not leaks, f"{len(leaks)} raw numbers left ingest:\n" + "\n".join(leaks[:50])
