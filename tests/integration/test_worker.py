"""``controlfeed worker`` end to end: a labelled scenario in, exactly its alerts out.

The worker runs as a subprocess on topics of this test's own; the sample
scenario is replayed as fast as possible; the alerts topic is read until its
count stops growing. Also checks the dead letters and that no raw ID or phone
number reaches the alerts or engine topics.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition
from kafka import KafkaAdminClient

from streams.settings import PROJECT_ROOT, Settings
from streams.stack import Stack
from streams.stack.process import terminate
from streams.worker.deadletter import HEADER_OFFSET, HEADER_REASON, HEADER_TOPIC
from tests.integration.helpers import CLI, run_cli, topic_env

SAMPLE = PROJECT_ROOT / "data" / "sample" / "scenario.jsonl"
LABELS = SAMPLE.with_name("scenario.labels.json")
ENGINE_PARTITIONS = 3
ID_NUMBER = re.compile(rb'"[0-9]{17}[0-9X]"')
"""A JSON string that is an ID number (a bare digit run may be part of a person_key's hex)."""
PHONE = re.compile(rb'"1[0-9]{10}"')
"""A JSON string that is a phone number."""

Record = tuple[int, bytes, bytes, dict[str, bytes]]


@pytest.fixture
def worker_settings(
    stack: Stack, mine: Settings, kafka_admin: KafkaAdminClient
) -> Iterator[Settings]:
    """``mine`` plus an engine topic and consumer group of this test; engine topic removed."""
    tag = uuid.uuid4().hex[:8]
    own = mine.model_copy(
        update={
            "topic_engine": f"test.engine.{tag}",
            "engine_partitions": ENGINE_PARTITIONS,
            "worker_group": f"test-worker-{tag}",
        }
    )
    yield own
    faust_own = f"{own.worker_group}-__assignor-__leader"  # Faust declares it itself
    leftovers = set(kafka_admin.list_topics()) & {own.topic_engine, faust_own}
    if leftovers:
        kafka_admin.delete_topics(sorted(leftovers))


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **topic_env(settings),
        "CONTROLFEED_TOPIC_ENGINE": settings.topic_engine,
        "CONTROLFEED_ENGINE_PARTITIONS": str(settings.engine_partitions),
        "CONTROLFEED_WORKER_GROUP": settings.worker_group,
        "CONTROLFEED_METRICS_PORT": str(_free_port()),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(settings: Settings, log: Path, key: str | None = None) -> subprocess.Popen[bytes]:
    """The worker; with a throwaway key (``--demo-key``) unless ``key`` is given."""
    env = _env(settings)
    args = [*CLI, "worker", "--datadir", str(log.parent / "faust")]
    if key is None:
        args.append("--demo-key")
    else:
        env["CONTROLFEED_PSEUDONYM_KEY"] = key
    with log.open("ab") as out:
        return subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def _read_all(settings: Settings, topic: str, partitions: int) -> list[Record]:
    """Every record now in ``topic``: (partition, key, value, headers)."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                         "group.id": "unused", "enable.auto.commit": False})  # fmt: skip
    parts, left = [], 0
    for p in range(partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if high > low:
            parts.append(TopicPartition(topic, p, low))
            left += high - low
    consumer.assign(parts)
    records: list[Record] = []
    while left:
        msg = consumer.poll(10)
        assert msg is not None, f"{left} records of {topic} never came back"
        headers = {k: v or b"" for k, v in msg.headers() or []}
        records.append((msg.partition() or 0, msg.key() or b"", msg.value() or b"", headers))
        left -= 1
    consumer.close()
    return records


def _count(settings: Settings, topic: str, partitions: int) -> int:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                         "group.id": "unused"})  # fmt: skip
    total = 0
    try:
        for p in range(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high - low
    except KafkaException:  # not declared yet: the worker declares it as it starts
        total = 0
    consumer.close()
    return total


def _settle(settings: Settings, worker: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Wait until the alerts topic has stopped growing for a few seconds (bounded)."""
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"worker died:\n{log.read_text()[-4000:]}"
        count = _count(settings, settings.topic_alerts, settings.topic_partitions)
        if count != last:
            last, since = count, time.monotonic()
        elif count > 0 and time.monotonic() - since > 6:
            return
        time.sleep(0.5)


def _assert_labelled(alerts: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    """The alerts equal the labels by (rule, severity, evidence), each with one alert_id."""
    got = {_identity(a) for a in alerts}
    want = {_identity(a) for a in labels["alerts"]}
    assert got == want, _compare(got, want)
    ids: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}
    for a in alerts:
        ids.setdefault(_identity(a), set()).add(a["alert_id"])
    assert all(len(v) == 1 for v in ids.values()), "a repeated alert with another id"


def _identity(alert: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    return alert["rule"], alert["severity"], tuple(sorted(alert["evidence"]))


def _compare(got: set[tuple[str, str, tuple[str, ...]]], want: set[Any]) -> str:
    missing, unexpected = sorted(want - got), sorted(got - want)
    return (
        f"missing {len(missing)}: {missing[:20]}\nunexpected {len(unexpected)}: {unexpected[:20]}"
    )


def test_worker_raises_exactly_the_labelled_alerts(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, log = worker_settings, tmp_path / "worker.log"
    labels = json.loads(LABELS.read_text())
    worker = _start(settings, log)
    try:
        _ready(log, 30)
        time.sleep(4)  # the input is idle when the burst comes: sources must wake in time
        replayed = run_cli("replay", "--no-progress", "--create-topics", str(SAMPLE),
                           settings=settings)  # fmt: skip
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        _settle(settings, worker, log, timeout=60)
    finally:
        terminate(worker)

    alerts = [json.loads(r[2]) for r in _read_all(settings, settings.topic_alerts, 3)]
    got = {_identity(a) for a in alerts}
    want = {_identity(a) for a in labels["alerts"]}
    assert got == want, _compare(got, want) + f"\nworker log:\n{log.read_text()[-3000:]}"
    by_id: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}
    for a in alerts:
        by_id.setdefault(_identity(a), set()).add(a["alert_id"])
    assert all(len(ids) == 1 for ids in by_id.values()), "one alert, several ids"
    _check_dead_letters(settings, labels)
    _check_no_personal_data(settings, alerts)


def _check_dead_letters(settings: Settings, labels: dict[str, Any]) -> None:
    lines = SAMPLE.read_bytes().splitlines()
    dead = _read_all(settings, settings.topic_dead_letter, settings.topic_partitions)
    reasons = Counter((value, h[HEADER_REASON].decode()) for _, _, value, h in dead)
    want = Counter((lines[m["line"] - 1], m["reason"]) for m in labels["malformed"])
    assert reasons == want, f"dead letters differ: {sorted((want - reasons).items())[:5]}"
    assert all(HEADER_TOPIC in h and HEADER_OFFSET in h for _, _, _, h in dead)


def _personal_values() -> set[bytes]:
    """Every ID and phone number of the sample's valid-looking lines."""
    values: set[bytes] = set()
    for line in SAMPLE.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(record, dict):
            for field in ("person_id", "phone"):
                if isinstance(record.get(field), str) and len(record[field]) >= 11:
                    values.add(record[field].encode())
    return values


def _check_no_personal_data(settings: Settings, alerts: list[dict[str, Any]]) -> None:
    secrets = _personal_values()
    assert len(secrets) > 100, "the sample should carry ID and phone numbers"
    raw = [v for _, _, v, _ in _read_all(settings, settings.topic_alerts, 3)]
    raw += [k for _, k, _, _ in _read_all(settings, settings.topic_alerts, 3)]
    raw += [v for _, _, v, _ in _read_all(settings, settings.topic_engine, ENGINE_PARTITIONS)]
    for blob in raw:
        assert not ID_NUMBER.search(blob), "an ID number reached the alerts or engine topic"
        assert not PHONE.search(blob), "a phone number reached the alerts or engine topic"
        assert not any(value in blob for value in secrets), "an ID or phone of the file leaked"
    assert all(a.get("person_key") for a in alerts if a["subject"] == "person")


def _alerts(settings: Settings) -> list[dict[str, Any]]:
    records = _read_all(settings, settings.topic_alerts, settings.topic_partitions)
    return [json.loads(r[2]) for r in records]


def test_a_killed_worker_restarted_misses_no_alert(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, log = worker_settings, tmp_path / "worker.log"
    labels, key = json.loads(LABELS.read_text()), uuid.uuid4().hex  # one key for both runs
    worker = _start(settings, log, key)
    replay = subprocess.Popen(
        [*CLI, "replay", "--no-progress", "--create-topics", "--rate", "1000", str(SAMPLE)],
        env=_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        engine = settings.topic_engine
        while _count(settings, engine, ENGINE_PARTITIONS) < 2000 and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        worker.kill()  # SIGKILL: no commit, no goodbye to the group
        worker.wait(timeout=10)
        assert replay.wait(timeout=60) == 0
        killed_at = _count(settings, settings.topic_alerts, 3)
        worker = _start(settings, log, key)
        _settle(settings, worker, log, timeout=75)
    finally:
        terminate(worker)
        terminate(replay)

    alerts = _alerts(settings)
    _assert_labelled(alerts, labels)
    assert killed_at < len(labels["alerts"]), "the worker was killed after it had finished"


def _ready(log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and b"Ready" in log.read_bytes():
            return
        time.sleep(0.2)
    raise AssertionError(f"worker not ready:\n{log.read_text()[-3000:]}")


def test_two_workers_in_one_group_raise_the_labelled_alerts(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, labels = worker_settings, json.loads(LABELS.read_text())
    logs = [tmp_path / "a" / "worker.log", tmp_path / "b" / "worker.log"]
    for log in logs:
        log.parent.mkdir()
    key = uuid.uuid4().hex  # both workers pseudonymise alike
    workers = [_start(settings, logs[0], key)]
    try:
        _ready(logs[0], 30)
        workers.append(_start(settings, logs[1], key))
        _ready(logs[1], 30)
        replayed = run_cli("replay", "--no-progress", str(SAMPLE), settings=settings)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        _settle(settings, workers[1], logs[1], timeout=75)
    finally:
        for worker in workers:
            terminate(worker)

    alerts = _alerts(settings)
    _assert_labelled(alerts, labels)
    assert all(b"Ready" in log.read_bytes() for log in logs)
