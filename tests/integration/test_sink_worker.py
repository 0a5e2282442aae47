"""The worker's sink end to end: the sample scenario from Kafka into the store, exactly once.

A worker (subprocess) runs on topics of the test's own; the sample scenario is
replayed; once the sink's consumer group has committed every record of the
engine, alerts and dead-letter topics, the store is read through ``FINAL``:

- on the stack's ClickHouse 18.16 (a database of the test's own) and on chDB
  (the worker's own data dir), the rows per table equal the sample's valid
  events per feed, the alert ids equal the alerts topic's, the dead letters
  the malformed lines, and no string column holds a raw ID or phone number;
- a worker killed with SIGKILL mid-stream and restarted leaves the same
  counts and no duplicate visible;
- a private ClickHouse server (free ports, own data dir; the shared one on
  9000 is never touched) stopped for 30 s mid-stream: the worker lives on,
  its metrics show the sink paused and failing, and the counts are exact.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.alert_state import AlertState
from schemas.decode import Rejected, decode
from sinks import SinkError, Store, open_store
from sinks.queries import ALERT_TRAIL
from streams import stores
from streams.devtools.demo import SAMPLE, sample_labels
from streams.devtools.stack import ClickHouseService, Stack
from streams.devtools.stack.clickhouse import WRITER
from streams.devtools.stack.process import terminate
from streams.kafka.clients import producer
from streams.kafka.topics import pipeline_topics
from streams.settings import Settings
from streams.sink.backlog import sink_backlog
from tests.integration.conftest import Admin
from tests.integration.helpers import (
    CLI,
    ENGINE_PARTITIONS,
    ID_NUMBER,
    PHONE,
    free_port,
    own_topics,
    read_all,
    run_cli,
    settle,
    start_worker,
    wait_ready,
    worker_env,
)

FEED_TABLES = {
    "checkpoint_scan": "checkpoint_scans",
    "venue_scan": "venue_scans",
    "patrol_event": "patrol_events",
    "risk_area": "risk_areas",
    "venue": "venues",
}
IDENTITY = {
    "checkpoint_scans": "event_id",
    "venue_scans": "event_id",
    "patrol_events": "event_id",
    "risk_areas": "(area_code, event_time, event_ms)",
    "venues": "(venue_id, event_time, event_ms)",
    "alerts": "alert_id",
    "dead_letters": "(topic, partition, offset)",
}
DIGITS = re.compile(rb"[0-9]{11,}X?")
"""Runs of digits long enough to hold a phone or ID number of the sample."""
KEEP_EVERYTHING = {"CONTROLFEED_RETENTION_DAYS": "36500"}
"""The sample dates from 2022: retention of 28 days would drop it at a restart."""


def _expected() -> dict[str, int]:
    """Rows each table must hold after the sample: valid events per feed, alerts, malformed."""
    labels = sample_labels()
    valid: Counter[str] = Counter()
    for line in SAMPLE.read_bytes().splitlines():
        if line.strip() and not isinstance(event := decode(line), Rejected):
            valid[FEED_TABLES[event.feed]] += 1
    return {
        **valid,
        "alerts": len(labels["alerts"]),
        "dead_letters": len(labels["malformed"]),
    }


EXPECTED = _expected()


def _own(settings: Settings) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return own_topics(settings, tag=tag).model_copy(
        update={
            "topic_engine": f"test.engine.{tag}",
            "engine_partitions": ENGINE_PARTITIONS,
            "worker_group": f"test-sink-{tag}",
        }
    )


def _cleanup(settings: Settings) -> None:
    names = [t.name for t in pipeline_topics(settings)]
    Admin(settings).delete([*names, settings.topic_engine, settings.topic_state])


@pytest.fixture
def sink_settings(stack: Stack, settings: Settings) -> Iterator[Settings]:
    """Topics, engine topic and group of this test; the topics are deleted after."""
    own = _own(settings)
    yield own
    _cleanup(own)


def _wait_stored(
    settings: Settings, worker: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    """Until the sink has committed every record of its three topics (fails with the log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"worker died:\n{log.read_text()[-4000:]}"
        if sink_backlog(settings) == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"sink lag {sink_backlog(settings)} after {timeout} s:\n"
                         f"{log.read_text()[-4000:]}")  # fmt: skip


def _wait_alerts(
    settings: Settings, worker: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    """Until the alerts topic holds as many distinct alerts as the sample's labels (bounded).

    ``settle`` alone is not enough after a restart: the alerts published before
    the kill make the topic look settled while the new worker waits for the
    killed one's session to expire.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert worker.poll() is None, f"worker died:\n{log.read_text()[-4000:]}"
        if len(_topic_alert_ids(settings)) >= EXPECTED["alerts"]:
            return
        time.sleep(1)
    # no failure here: the exact comparison afterwards says what is missing


def _replay(settings: Settings, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "replay", "--no-progress", "--create-topics", *extra, str(SAMPLE)],
        env=worker_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip


# ---------------------------------------------------------------- what the store holds


@dataclass
class Stored:
    """What a store holds after a run, read once (chDB cannot stay open beside a worker)."""

    final: dict[str, int] = field(default_factory=dict)
    """``count()`` through ``FINAL`` per table."""
    distinct: dict[str, int] = field(default_factory=dict)
    """``uniqExact`` of each table's identity."""
    alert_ids: set[str] = field(default_factory=set)
    """Every stored ``alert_id``."""
    strings: dict[str, set[str]] = field(default_factory=dict)
    """Every distinct value of every String column, by ``table.column``."""


def _console_actions(settings: Settings) -> list[AlertState]:
    """Three records of the alert-state topic as consoles write them: an acknowledgement, a
    dismissal that lost the race for version 1, and a resolution (version 2)."""
    at = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    base = {"alert_id": "f" * 32, "actor": "li.wei", "at": at}
    states = [
        AlertState(**base, version=1, status="acknowledged", action="ack", action_id="1" * 32),
        AlertState(**base, version=1, status="dismissed", action="dismiss", action_id="2" * 32),
        AlertState(**base, version=2, status="resolved", action="resolve", action_id="3" * 32),
    ]
    sender = producer(settings, "test-console-actions")
    for state in states:
        sender.produce(settings.topic_alert_state, state.model_dump_json().encode(),
                       state.alert_id.encode())  # fmt: skip
    assert sender.flush(30) == 0
    return states


def _read_store(store: Store, scan: bool = False) -> Stored:
    out = Stored()
    try:
        for table, identity in IDENTITY.items():
            rows = store.query(f"SELECT count(), uniqExact({identity}) FROM {table} FINAL").rows
            out.final[table], out.distinct[table] = int(rows[0][0]), int(rows[0][1])
        ids = store.query("SELECT alert_id FROM alerts FINAL").rows
        out.alert_ids = {str(row[0]) for row in ids}
        if scan:
            out.strings = _string_values(store)
    finally:
        store.close()
    return out


def _string_values(store: Store) -> dict[str, set[str]]:
    """Every String, Nullable(String) and Array(String) column of every table, all values."""
    columns = store.query(
        "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() "
        "AND type LIKE '%String%' AND type NOT LIKE 'AggregateFunction%'"
    ).rows
    values: dict[str, set[str]] = {}
    for table, name, kind in columns:
        expr = f"arrayJoin(`{name}`)" if str(kind).startswith("Array") else f"`{name}`"
        rows = store.query(f"SELECT DISTINCT {expr} FROM `{table}`").rows
        values[f"{table}.{name}"] = {str(row[0]) for row in rows if row[0] is not None}
    return values


def _topic_alert_ids(settings: Settings) -> set[str]:
    records = read_all(settings, settings.topic_alerts, settings.topic_partitions)
    return {json.loads(value)["alert_id"] for _, _, value, _ in records}


def _assert_exact(stored: Stored, settings: Settings, log: Path) -> None:
    context = f"\nworker log:\n{log.read_text()[-3000:]}"
    assert stored.final == EXPECTED, f"rows per table {stored.final} != {EXPECTED}{context}"
    assert stored.distinct == stored.final, f"a duplicate is visible: {stored.distinct}"
    assert stored.alert_ids == _topic_alert_ids(settings), "alerts table != alerts topic"


# ----------------------------------------------------------------------- the sample


def _where(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The worker's store variables: a database of the test's own, written as the local
    server's writing user (its password from a file), or chDB in its data dir."""
    if kind == "chdb":
        return {"CONTROLFEED_CLICKHOUSE_URL": ""}
    database: str = request.getfixturevalue("ch_database")
    server = ClickHouseService(request.getfixturevalue("settings"))
    return {"CONTROLFEED_CLICKHOUSE_URL": server.url(WRITER, database),
            "CONTROLFEED_CLICKHOUSE_PASSWORD_FILE": str(server.password_file(WRITER))}  # fmt: skip


@pytest.fixture(scope="module")
def sample_runs() -> dict[str, tuple[Stored, Settings, Path]]:
    """Results of the sample runs by store kind, shared by the counting and scanning tests."""
    return {}


@pytest.mark.parametrize("kind", ["server", "chdb"])
def test_the_sample_lands_in_the_store_once(
    kind: str,
    sink_settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    sample_runs: dict[str, tuple[Stored, Settings, Path]],
) -> None:
    settings, log = sink_settings, tmp_path / "worker.log"
    env = {**_where(kind, request, tmp_path), **KEEP_EVERYTHING}
    worker = start_worker(settings, log, env=env)
    try:
        wait_ready(log, 60)
        actions = _console_actions(settings)
        time.sleep(3)  # the input is idle when the burst comes: sources must wake in time
        replayed = run_cli("replay", "--no-progress", "--create-topics", str(SAMPLE),
                           settings=settings)  # fmt: skip
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        settle(settings, worker, log, timeout=60)
        _wait_stored(settings, worker, log, timeout=30)
    finally:
        terminate(worker)
    password = env.get("CONTROLFEED_CLICKHOUSE_PASSWORD_FILE")
    store = stores.writer(settings.model_copy(update={
        "clickhouse_url": env["CONTROLFEED_CLICKHOUSE_URL"], "data_dir": log.parent / "data",
        "clickhouse_password_file": Path(password) if password else None,
    }))  # fmt: skip
    trail = store.query(ALERT_TRAIL.format(alert_id=actions[0].alert_id)).rows
    stored = _read_store(store, scan=True)
    sample_runs[kind] = (stored, settings, log)
    # The console's actions: all three stored, the trail as the consoles applied it.
    assert [(row[0], row[1]) for row in trail] == [(1, "ack"), (2, "resolve")]

    _assert_exact(stored, settings, log)
    assert b"sink store" in log.read_bytes(), "the sink never said its store was ready"


@pytest.mark.parametrize("kind", ["server", "chdb"])
def test_no_column_holds_a_raw_id_or_phone_number(
    kind: str, sample_runs: dict[str, tuple[Stored, Settings, Path]]
) -> None:
    assert kind in sample_runs, "the sample run of this store failed or did not run first"
    stored = sample_runs[kind][0]
    raw = _sample_personal_values()
    assert raw and all(ID_NUMBER.search(v) or PHONE.search(v) for v in raw), "patterns too weak"
    values = [(col, v) for col, vals in stored.strings.items() for v in vals]
    assert {"checkpoint_scans.person_masked", "dead_letters.payload"} <= set(stored.strings)
    assert len(values) > 1000, f"too few string values scanned: {len(values)}"
    leaks = [
        (col, v[:40])
        for col, v in values
        if ID_NUMBER.search(v.encode()) or PHONE.search(v.encode())
        or any(secret in run for run in DIGITS.findall(v.encode()) for secret in raw)
    ]  # fmt: skip
    assert not leaks, f"raw ID or phone numbers stored: {leaks[:5]}"


def _sample_personal_values() -> set[bytes]:
    """Every raw ID and phone number of the sample's valid events."""
    values: set[bytes] = set()
    for line in SAMPLE.read_bytes().splitlines():
        event = decode(line) if line.strip() else None
        if event is None or isinstance(event, Rejected):
            continue
        for name in ("person_id", "phone"):
            value = getattr(event, name, None)
            if value:
                values.add(str(value).encode())
    return values


# ------------------------------------------------------------------ crash and outage


def test_a_killed_worker_restarted_stores_everything_once(
    sink_settings: Settings, ch_database: str, settings: Settings, tmp_path: Path
) -> None:
    own, log, key = sink_settings, tmp_path / "worker.log", uuid.uuid4().hex
    url = settings.stack_clickhouse_url.rsplit("/", 1)[0] + f"/{ch_database}"
    env = {"CONTROLFEED_CLICKHOUSE_URL": url, **KEEP_EVERYTHING}
    worker = start_worker(own, log, key, env=env)
    replay = None
    try:
        wait_ready(log, 60)
        replay = _replay(own, "--rate", "600")
        deadline = time.monotonic() + 60
        while _count(url, "venue_scans") < 200 and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
        worker.kill()  # SIGKILL: no last flush, no commit, no goodbye to the group
        worker.wait(timeout=10)
        at_kill = _count(url, "venue_scans")
        assert replay.wait(timeout=60) == 0
        worker = start_worker(own, log, key, env=env)
        _wait_alerts(own, worker, log, timeout=75)
        _wait_stored(own, worker, log, timeout=45)
    finally:
        terminate(worker)
        if replay is not None:
            terminate(replay)

    assert 0 < at_kill < EXPECTED["venue_scans"], f"not killed mid-stream ({at_kill} rows)"
    _assert_exact(_read_store(open_store(url, tmp_path)), own, log)


def _count(url: str, table: str) -> int:
    store = open_store(url, Path())
    try:
        return int(store.query(f"SELECT count() FROM {table} FINAL").rows[0][0])
    except SinkError:  # the table may not exist yet (the worker creates it), or the store is down
        return 0
    finally:
        store.close()


def _metrics(port: int) -> dict[str, float]:
    """The worker's sink series (summed over labels), from its /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("controlfeed_sink_"):
            name, value = line.rsplit(" ", 1)
            out[name.split("{")[0]] += float(value)
    return dict(out)


@pytest.fixture
def private_clickhouse(settings: Settings, tmp_path: Path) -> Iterator[ClickHouseService]:
    """A ClickHouse server of this test only: free ports, its own data dir; stopped after."""
    own = settings.model_copy(
        update={
            "data_dir": tmp_path / "private",
            "clickhouse_tcp_port": free_port(),
            "clickhouse_http_port": free_port(),
        }
    )
    service = ClickHouseService(own)
    service.start()
    service.wait_ready()
    yield service
    service.stop()


def test_a_clickhouse_outage_pauses_the_sink_and_loses_nothing(
    sink_settings: Settings, private_clickhouse: ClickHouseService, tmp_path: Path
) -> None:
    own, log = sink_settings, tmp_path / "worker.log"
    url = private_clickhouse.settings.stack_clickhouse_url
    port = free_port()
    env = {
        "CONTROLFEED_CLICKHOUSE_URL": url,
        "CONTROLFEED_METRICS_PORT": str(port),
        "CONTROLFEED_SINK_BATCH_ROWS": "300",  # the sample is small: pause within the outage
        "CONTROLFEED_SINK_RETRY_MAX_SECONDS": "4",
        **KEEP_EVERYTHING,
    }
    worker = start_worker(own, log, env=env)
    replay = None
    seen: list[dict[str, float]] = []
    try:
        wait_ready(log, 60)
        replay = _replay(own, "--rate", "150")
        deadline = time.monotonic() + 60
        while _count(url, "venue_scans") < 100 and time.monotonic() < deadline:
            time.sleep(0.1)
        private_clickhouse.stop()
        at_stop = _count(url, "venue_scans")
        back_at = time.monotonic() + 30
        while time.monotonic() < back_at:
            assert worker.poll() is None, f"worker died in the outage:\n{log.read_text()[-3000:]}"
            seen.append(_metrics(port))
            time.sleep(1)
        private_clickhouse.start()
        private_clickhouse.wait_ready()
        assert replay.wait(timeout=60) == 0
        _wait_alerts(own, worker, log, timeout=60)
        _wait_stored(own, worker, log, timeout=45)
        after = _metrics(port)
    finally:
        terminate(worker)
        if replay is not None:
            terminate(replay)

    assert at_stop == 0, "the store answered while stopped"
    assert max(m.get("controlfeed_sink_paused", 0) for m in seen) == 1, "never paused"
    assert max(m.get("controlfeed_sink_errors_total", 0) for m in seen) > 0, "no error counted"
    assert after["controlfeed_sink_paused"] == 0, "still paused after the outage"
    assert b"ClickHouse is unreachable" in log.read_bytes()
    _assert_exact(_read_store(open_store(url, tmp_path)), own, log)
