"""``controlfeed worker`` end to end: a labelled scenario in, exactly its alerts out.

The worker runs as a subprocess on topics of this test's own; the sample
scenario is replayed as fast as possible; the alerts topic is read until its
count stops growing. Also checks the dead letters and that no raw ID or phone
number reaches the alerts or engine topics.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from streams.devtools.demo import SAMPLE, sample_labels
from streams.devtools.stack.process import terminate
from streams.settings import Settings
from streams.wire import ERROR_OFFSET_HEADER, ERROR_REASON_HEADER, ERROR_TOPIC_HEADER
from tests.integration.helpers import (
    CLI,
    ENGINE_PARTITIONS,
    ID_NUMBER,
    PHONE,
    alert_identity,
    assert_labelled,
    compare_alerts,
    count_records,
    read_all,
    run_cli,
    settle,
    start_worker,
    wait_ready,
    worker_env,
)


def test_worker_raises_exactly_the_labelled_alerts(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, log = worker_settings, tmp_path / "worker.log"
    labels = sample_labels()
    worker = start_worker(settings, log)
    try:
        wait_ready(log, 30)
        time.sleep(4)  # the input is idle when the burst comes: sources must wake in time
        replayed = run_cli("replay", "--no-progress", "--create-topics", str(SAMPLE),
                           settings=settings)  # fmt: skip
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        settle(settings, worker, log, timeout=60)
    finally:
        terminate(worker)

    alerts = [json.loads(r[2]) for r in read_all(settings, settings.topic_alerts, 3)]
    got = {alert_identity(a) for a in alerts}
    want = {alert_identity(a) for a in labels["alerts"]}
    assert got == want, compare_alerts(got, want) + f"\nworker log:\n{log.read_text()[-3000:]}"
    by_id: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}
    for a in alerts:
        by_id.setdefault(alert_identity(a), set()).add(a["alert_id"])
    assert all(len(ids) == 1 for ids in by_id.values()), "one alert, several ids"
    _check_dead_letters(settings, labels)
    _check_no_personal_data(settings, alerts)


def _check_dead_letters(settings: Settings, labels: dict[str, Any]) -> None:
    lines = SAMPLE.read_bytes().splitlines()
    dead = read_all(settings, settings.topic_dead_letter, settings.topic_partitions)
    reasons = Counter((value, h[ERROR_REASON_HEADER].decode()) for _, _, value, h in dead)
    want = Counter((lines[m["line"] - 1], m["reason"]) for m in labels["malformed"])
    assert reasons == want, f"dead letters differ: {sorted((want - reasons).items())[:5]}"
    assert all(ERROR_TOPIC_HEADER in h and ERROR_OFFSET_HEADER in h for _, _, _, h in dead)


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
    raw = [v for _, _, v, _ in read_all(settings, settings.topic_alerts, 3)]
    raw += [k for _, k, _, _ in read_all(settings, settings.topic_alerts, 3)]
    raw += [v for _, _, v, _ in read_all(settings, settings.topic_engine, ENGINE_PARTITIONS)]
    for blob in raw:
        assert not ID_NUMBER.search(blob), "an ID number reached the alerts or engine topic"
        assert not PHONE.search(blob), "a phone number reached the alerts or engine topic"
        assert not any(value in blob for value in secrets), "an ID or phone of the file leaked"
    assert all(a.get("person_key") for a in alerts if a["subject"] == "person")


def _alerts(settings: Settings) -> list[dict[str, Any]]:
    records = read_all(settings, settings.topic_alerts, settings.topic_partitions)
    return [json.loads(r[2]) for r in records]


def test_a_killed_worker_restarted_misses_no_alert(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, log = worker_settings, tmp_path / "worker.log"
    labels, key = sample_labels(), uuid.uuid4().hex  # one key for both runs
    worker = start_worker(settings, log, key)
    replay = subprocess.Popen(
        [*CLI, "replay", "--no-progress", "--create-topics", "--rate", "1000", str(SAMPLE)],
        env=worker_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        engine = settings.topic_engine
        while (
            count_records(settings, engine, ENGINE_PARTITIONS) < 2000
            and time.monotonic() < deadline
        ):
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        worker.kill()  # SIGKILL: no commit, no goodbye to the group
        worker.wait(timeout=10)
        assert replay.wait(timeout=60) == 0
        killed_at = count_records(settings, settings.topic_alerts, 3)
        worker = start_worker(settings, log, key)
        wait_ready(log, 60, times=2)  # its partitions once the killed one's session ended
        settle(settings, worker, log, timeout=75)
    finally:
        terminate(worker)
        terminate(replay)

    alerts = _alerts(settings)
    assert_labelled(alerts, labels)
    assert killed_at < len(labels["alerts"]), "the worker was killed after it had finished"
    ids = [a["alert_id"] for a in alerts]
    assert len(ids) == len(set(ids)), "an alert record was repeated after the kill"


def test_two_workers_in_one_group_raise_the_labelled_alerts(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, labels = worker_settings, sample_labels()
    logs = [tmp_path / "a" / "worker.log", tmp_path / "b" / "worker.log"]
    for log in logs:
        log.parent.mkdir()
    key = uuid.uuid4().hex  # both workers pseudonymise alike
    workers = [start_worker(settings, logs[0], key)]
    try:
        wait_ready(logs[0], 30)
        workers.append(start_worker(settings, logs[1], key))
        wait_ready(logs[1], 30)
        replayed = run_cli("replay", "--no-progress", str(SAMPLE), settings=settings)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        settle(settings, workers[1], logs[1], timeout=75)
    finally:
        for worker in workers:
            terminate(worker)

    alerts = _alerts(settings)
    assert_labelled(alerts, labels)
    assert all(b"Ready" in log.read_bytes() for log in logs)
