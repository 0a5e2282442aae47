"""The smoke pass: a few events through Kafka, a table in ClickHouse, Prometheus up.

Called by ``controlfeed smoke`` and ``controlfeed demo`` after ``stack up``.
Each check uses names of its own (a topic, a database) and removes them after,
so it can run any number of times beside real data. A failing check is
reported, not raised: the report says which service misbehaves.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from clickhouse_driver import Client
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from streams.devtools.stack.process import wait_until
from streams.kafka.clients import admin_client, producer
from streams.kafka.read import read_topic
from streams.settings import Settings

__all__ = ["SmokeResult", "run_smoke"]

_EVENTS = 100
_READ_BACK_S = 10.0
"""How long the Kafka check waits for every committed record to become readable."""


@dataclass(frozen=True)
class SmokeResult:
    """The outcome of one smoke check."""

    check: str
    """What was tried."""
    ok: bool
    """True when it worked."""
    detail: str
    """What was seen, or what went wrong."""
    seconds: float
    """How long it took."""


def _kafka_round_trip(settings: Settings) -> str:
    """Create a 3-partition topic, send ``_EVENTS`` records in one transaction, read them
    back with read_committed (as the worker and its readers do), delete the topic."""
    topic = f"controlfeed.smoke.{uuid.uuid4().hex[:8]}"
    admin = admin_client(settings, "controlfeed-smoke", log_level=2)
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(timeout=30)
    try:
        sender = producer(settings, "controlfeed-smoke", f"controlfeed-smoke-{topic}")
        sender.init_transactions(30)
        sender.begin_transaction()
        for i in range(_EVENTS):
            body = {"feed": "smoke", "event_id": f"smoke-{i}", "n": i}
            sender.produce(topic, json.dumps(body).encode(), f"k{i % 7}".encode())
        sender.commit_transaction(30)
        # The commit returns once the coordinator has it; the markers that move each
        # partition's last stable offset are written just after, so a read at once may
        # still end some partition at 0: read again until all are there (bounded).
        deadline, seen = time.monotonic() + _READ_BACK_S, set[str]()
        while len(seen) < _EVENTS and time.monotonic() < deadline:
            seen = {json.loads(m.value() or b"{}")["event_id"]
                    for m in read_topic(settings, topic, 30)}  # fmt: skip
            if len(seen) < _EVENTS:
                time.sleep(0.2)
        if len(seen) != _EVENTS:
            raise RuntimeError(f"sent {_EVENTS} records, read back {len(seen)}")
        return (
            f"{_EVENTS} records through a 3-partition topic in one transaction, "
            "read back with read_committed"
        )
    finally:
        admin.delete_topics([topic])


def _clickhouse_round_trip(settings: Settings) -> str:
    """Create a database and a MergeTree table, insert, aggregate, drop."""
    database = f"controlfeed_smoke_{uuid.uuid4().hex[:8]}"
    client = Client.from_url(settings.stack_clickhouse_url)
    try:
        version = client.execute("SELECT version()")[0][0]
        client.execute(f"CREATE DATABASE {database}")
        client.execute(
            f"CREATE TABLE {database}.scans (day Date, checkpoint String, n UInt32) "
            "ENGINE = MergeTree() PARTITION BY day ORDER BY (checkpoint, n)"
        )
        today = dt.datetime.now(dt.UTC).date()
        rows = [(today, f"cp-{i % 5}", i) for i in range(_EVENTS)]
        client.execute(f"INSERT INTO {database}.scans (day, checkpoint, n) VALUES", rows)
        # The database name is ours (random hex), never user input.
        count, total = client.execute(f"SELECT count(), sum(n) FROM {database}.scans")[0]  # noqa: S608
        if (count, total) != (_EVENTS, sum(range(_EVENTS))):
            raise RuntimeError(f"inserted {_EVENTS} rows, read back count={count} sum={total}")
        return f"ClickHouse {version}: {_EVENTS} rows inserted and read back"
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {database}")
        client.disconnect()


def _prometheus_up(settings: Settings) -> str:
    """Wait until Prometheus has scraped itself, through the HTTP query API."""
    query = urllib.parse.urlencode({"query": 'up{job="prometheus"}'})
    url = f"{settings.prometheus_url}/api/v1/query?{query}"

    def scraped() -> bool:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (fixed http URL)
            result = json.load(resp)["data"]["result"]
        return bool(result) and result[0]["value"][1] == "1"

    if not wait_until(scraped, timeout=30, interval=1):
        raise RuntimeError("Prometheus answers but has not scraped itself within 30 s")
    return 'ready; PromQL up{job="prometheus"} == 1'


_CHECKS: tuple[tuple[str, Callable[[Settings], str]], ...] = (
    ("Kafka produce / consume", _kafka_round_trip),
    ("ClickHouse create / insert / select", _clickhouse_round_trip),
    ("Prometheus scrape and query", _prometheus_up),
)


def run_smoke(settings: Settings) -> list[SmokeResult]:
    """Run every check; a check's failure is captured in its result, never raised."""
    results = []
    for name, check in _CHECKS:
        started = time.monotonic()
        try:
            detail, ok = check(settings), True
        except Exception as err:  # noqa: BLE001 (the report names any failure of a check)
            detail, ok = f"{type(err).__name__}: {err}", False
        results.append(SmokeResult(name, ok, detail, time.monotonic() - started))
    return results
