"""The main job (``controlfeed demo``): the sample scenario through the real pipeline.

Called by the CLI after ``stack up`` and the smoke pass. Every run gets topics
and a consumer group of its own (``demo.<run>.*``), so earlier runs, other
checkouts and the production topics never mix into its count. It starts a
worker in the background with a throwaway pseudonym key (``--demo-key``),
replays the checked-in sample as fast as possible, waits until the alerts
topic stops growing, and compares the distinct alerts per rule with the
sample's labels; then it stops the worker and deletes the run's topics. A
worker that dies or never gets ready is a ``ControlfeedError`` carrying the
end of its log.

Where the sink stores: the configured ClickHouse (``CONTROLFEED_CLICKHOUSE_URL``);
when none is configured, chDB under ``<data_dir>/demo/chdb``, except with
``run_demo(..., on_server=True)`` (``demo --console``): then a database of the
run (``demo_<run>``) on the local stack's ClickHouse server, so that the console
can show evidence and history too (chDB is the worker's own); it is dropped with
the run's topics.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException, TopicPartition

from streams import stores
from streams.devtools.stack.process import tail, terminate
from streams.exceptions import ControlfeedError
from streams.kafka.clients import admin_client, consumer
from streams.kafka.read import partitions_of, read_topic
from streams.settings import PROJECT_ROOT, Settings
from streams.sink.backlog import sink_backlog

__all__ = [
    "SAMPLE",
    "DemoResult",
    "demo_settings",
    "run_demo",
    "sample_event_ids",
    "sample_labels",
]

SAMPLE = PROJECT_ROOT / "data" / "sample" / "scenario.jsonl"
"""The checked-in scenario the demo replays; its labels sit beside it."""

_CLI = [sys.executable, "-c", "from streams.cli import main; main()"]
RuleSeverity = tuple[str, str]


def sample_labels() -> dict[str, Any]:
    """The labels of ``SAMPLE`` (events per feed, the alerts it must raise)."""
    labels: dict[str, Any] = json.loads(SAMPLE.with_suffix(".labels.json").read_text())
    return labels


@dataclass(frozen=True)
class DemoResult:
    """What the demo saw, for the CLI's report."""

    found: Counter[RuleSeverity]
    """Distinct alerts (by alert_id) in the alerts topic, per (rule, severity)."""
    expected: Counter[RuleSeverity]
    """The sample's labelled alerts, per (rule, severity)."""
    worker_log: Path
    """The demo worker's log."""
    stored: dict[str, int]
    """Rows per feed table in the store, read through ``FINAL``."""
    valid: dict[str, int]
    """The sample's valid events per feed table (from its labels)."""
    store: str
    """Which store the worker wrote to."""
    query_prefix: str
    """What to put before ``controlfeed query`` to query that store (the demo's data
    folder when it is chDB)."""

    @property
    def matches(self) -> bool:
        """True when every rule and severity has exactly the labelled count and every
        valid event is stored once."""
        return self.found == self.expected and self.stored == self.valid


def demo_settings(settings: Settings, run: str) -> Settings:
    """``settings`` with topics (``demo.<run>.<name>``) and a consumer group of the run."""
    update: dict[str, object] = {
        field: f"demo.{run}.{getattr(settings, field)}" for field in settings.topic_fields()
    }
    update["worker_group"] = f"controlfeed-demo-{run}"
    return settings.model_copy(update=update)


def run_demo(
    settings: Settings,
    then: Callable[[DemoResult, Settings], None] | None = None,
    *,
    on_server: bool = False,
) -> DemoResult:
    """Worker up, sample replayed, alerts counted, worker stopped, topics deleted.

    ``then`` (``controlfeed demo --console``) is called with the result and the
    run's settings after the worker stopped and before the topics go: the
    console serves the run's alerts there until Ctrl-C. ``on_server``: see the
    module docstring. Raises ``ControlfeedError`` when the worker dies, is never
    ready, or replay fails.
    """
    run = uuid.uuid4().hex[:8]
    home = settings.data_dir / "demo"
    # The demo's own data folder: with no server configured, its chDB store is
    # <data_dir>/demo/chdb, apart from whatever else ran on this machine.
    settings = demo_settings(settings, run).model_copy(update={"data_dir": home})
    home.mkdir(parents=True, exist_ok=True)
    database = None
    if on_server and not settings.clickhouse_url:
        database = f"demo_{run}"
        _server_database(settings, f"CREATE DATABASE IF NOT EXISTS {database}")
        url = settings.stack_clickhouse_url.rsplit("/", 1)[0] + f"/{database}"
        settings = settings.model_copy(update={"clickhouse_url": url})
    try:
        return _run(settings, run, home, then)
    finally:
        if database is not None:
            _server_database(settings, f"DROP DATABASE IF EXISTS {database}")


def _server_database(settings: Settings, statement: str) -> None:
    """Create or drop the run's database on the local stack's server."""
    from sinks import SinkError, open_store

    try:
        store = open_store(settings.stack_clickhouse_url, settings.data_dir / "chdb")
        try:
            store.execute(statement)
        finally:
            store.close()
    except SinkError as err:
        # Kept: says what the demo was doing, and points at the local server's status and log.
        raise ControlfeedError(
            f"the local ClickHouse server did not take {statement.split()[0]} DATABASE: {err}",
            hint="Check `controlfeed stack status`; its log is under .stack/clickhouse/logs.",
        ) from err


def _run(
    settings: Settings, run: str, home: Path, then: Callable[[DemoResult, Settings], None] | None
) -> DemoResult:
    log = home / "worker.log"
    log.write_bytes(b"")
    env = {**os.environ, **settings.to_env()}
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [*_CLI, "worker", "--demo-key"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        try:
            _wait_ready(worker, log, timeout=120)
            before = _alert_count(settings)
            replay = subprocess.run(
                [*_CLI, "replay", "--no-progress", str(SAMPLE)], env=env, check=False
            )
            if replay.returncode != 0:
                raise ControlfeedError(
                    "replaying the sample failed (see above)",
                    hint="Fix what the replay's own error above says, then run the demo again.",
                )
            _wait_settled(settings, worker, log, above=before, timeout=180)
            found = _distinct_alerts(settings)
            _wait_stored(settings, worker, log, timeout=120)
        finally:
            terminate(worker)  # before counting: chDB is one process's store
        stored, where = _stored(settings)
        if settings.clickhouse_url.endswith(f"/demo_{run}"):  # ours (no password in it)
            prefix = f"CONTROLFEED_CLICKHOUSE_URL={settings.clickhouse_url} "
        else:
            prefix = "" if settings.clickhouse_url else f"CONTROLFEED_DATA_DIR={home} "
        result = DemoResult(found, _expected(), log, stored, _valid(), where, prefix)
        if then is not None:
            then(result, settings)
    finally:
        _delete_run_topics(settings, run)
    return result


FEED_TABLES = {
    "checkpoint_scan": "checkpoint_scans",
    "venue_scan": "venue_scans",
    "patrol_event": "patrol_events",
}
"""The store's table of each event feed (reference tables keep their whole history)."""


def _wait_stored(
    settings: Settings, worker: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    """Until the sink has committed (so stored) every record; gives up quietly at ``timeout``
    (the report then shows what is missing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.poll() is None:
        with contextlib.suppress(KafkaException):  # the broker busy: ask again
            if sink_backlog(settings) == 0:
                return
        time.sleep(0.5)


def _stored(settings: Settings) -> tuple[dict[str, int], str]:
    """Rows of the sample's events per feed table (``FINAL``), and the store's description.

    The store may hold other runs' events too; only the sample's event ids count.
    """
    from sinks import SinkError

    try:
        store = stores.reader(settings)
    except SinkError as err:
        # Kept: says what the demo was doing when the store would not open.
        raise ControlfeedError(
            f"cannot open the store to count what the demo stored: {err}",
            hint="Check CONTROLFEED_CLICKHOUSE_URL, or that no other worker holds the chDB path.",
        ) from err
    try:
        ids = sample_event_ids()
        counts = {}
        for feed, table in FEED_TABLES.items():
            listed = ", ".join(f"'{i}'" for i in sorted(ids[feed]))  # ids: [A-Za-z0-9-] only
            sql = f"SELECT count() FROM {table} FINAL WHERE event_id IN ({listed})"  # noqa: S608
            counts[table] = int(store.query(sql).rows[0][0])
        return counts, store.description
    finally:
        store.close()


def _valid() -> dict[str, int]:
    labels = sample_labels()
    return {table: int(labels["events"][feed]) for feed, table in FEED_TABLES.items()}


def sample_event_ids() -> dict[str, set[str]]:
    """The event ids of the sample's valid events, per event feed (the demo's count of
    stored rows; the tests of the clean topics)."""
    from schemas.decode import decode
    from schemas.feeds import CheckpointScan, PatrolEvent, VenueScan

    ids: dict[str, set[str]] = {feed: set() for feed in FEED_TABLES}
    for line in SAMPLE.read_bytes().splitlines():
        event = decode(line)
        if isinstance(event, CheckpointScan | VenueScan | PatrolEvent):
            ids[event.feed].add(event.event_id)
    return ids


def _delete_run_topics(settings: Settings, run: str) -> None:
    """Remove the run's topics."""
    admin = admin_client(settings, log_level=2)
    with contextlib.suppress(KafkaException):  # leftovers are harmless: names are the run's
        mine = [t for t in admin.list_topics(timeout=10).topics if t.startswith(f"demo.{run}.")]
        if mine:
            for future in admin.delete_topics(mine, operation_timeout=30).values():
                future.result()


def _wait_ready(worker: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise ControlfeedError(f"the demo worker exited:\n{tail(log, 30)}", hint=f"See {log}.")
        if log.exists() and b"Ready" in log.read_bytes():
            return
        time.sleep(0.2)
    raise ControlfeedError(f"the demo worker was not ready in {timeout:.0f} s", hint=f"See {log}.")


def _alert_count(settings: Settings) -> int:
    return sum(high - low for _, low, high in _offsets(settings))


def _wait_settled(
    settings: Settings, worker: subprocess.Popen[bytes], log: Path, above: int, timeout: float
) -> None:
    """Until the alerts topic holds more than ``above`` records and has not grown for 6 s."""
    deadline, last, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise ControlfeedError(f"the demo worker exited:\n{tail(log, 30)}", hint=f"See {log}.")
        count = _alert_count(settings)
        if count != last:
            last, since = count, time.monotonic()
        elif count > above and time.monotonic() - since > 6:
            return
        time.sleep(0.5)


def _offsets(settings: Settings) -> list[tuple[int, int, int]]:
    """(partition, low, high) of each partition of the alerts topic; empty before it exists."""
    reader = consumer(settings, "controlfeed-demo-reader", "controlfeed-demo")
    topic = settings.topic_alerts
    try:
        return [
            (p, *reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10))
            for p in partitions_of(reader, topic)
        ]
    except KafkaException:
        return []
    finally:
        reader.close()


def _distinct_alerts(settings: Settings) -> Counter[RuleSeverity]:
    """Distinct alerts (by alert_id) now in the alerts topic, per (rule, severity)."""
    seen = {}
    for msg in read_topic(settings, settings.topic_alerts):
        alert = json.loads(msg.value() or b"{}")
        seen[alert["alert_id"]] = (alert["rule"], alert["severity"])
    return Counter(seen.values())


def _expected() -> Counter[RuleSeverity]:
    return Counter((a["rule"], a["severity"]) for a in sample_labels()["alerts"])
