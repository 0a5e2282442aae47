"""Helpers shared by the integration tests: the CLI as a user runs it, own topics, read-back.

Also the worker as a subprocess (start, wait until ready, wait until its
alerts settle), reading topics back, comparing alerts with labels, and the
patterns of raw ID and phone numbers that must never leave the ingest stage.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import KafkaException

from streams.kafka.read import committed_records, read_topic
from streams.kafka.stage import headers
from streams.settings import PROJECT_ROOT, Settings

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]


def run_cli(
    *args: str, env: dict[str, str] | None = None, settings: Settings | None = None
) -> subprocess.CompletedProcess[str]:
    """``controlfeed ARGS`` in a subprocess, wide output, with ``settings``' topics if given."""
    topics = topic_env(settings) if settings is not None else {}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "COLUMNS": "200", **topics, **(env or {})},
    )  # fmt: skip


FIELDS = [
    name
    for name in Settings.model_fields
    if name.startswith("topic_") and "partitions" not in name and "replication" not in name
]


def own_topics(settings: Settings, partitions: int = 3, tag: str | None = None) -> Settings:
    """``settings`` with topic names no other test uses (``test.<field>.<tag>``, random tag)."""
    tag = tag or uuid.uuid4().hex[:8]
    update: dict[str, object] = {f: f"test.{f}.{tag}" for f in FIELDS}
    update["topic_partitions"] = partitions
    return settings.model_copy(update=update)


def topic_env(settings: Settings) -> dict[str, str]:
    """The CONTROLFEED_* variables that give a CLI process these topic settings."""
    names = [*FIELDS, "topic_partitions", "kafka_bootstrap_servers"]
    return {f"CONTROLFEED_{n.upper()}": str(getattr(settings, n)) for n in names}


def read_back(settings: Settings, topics: list[str]) -> list[tuple[str, bytes, bytes]]:
    """Every committed record now in ``topics`` as (topic, key, value)."""
    return [
        (msg.topic() or "", msg.key() or b"", msg.value() or b"")
        for topic in topics
        for msg in read_topic(settings, topic)
    ]


# --- the worker as a subprocess (shared by test_worker.py and test_worker_scenarios.py) ---

ENGINE_PARTITIONS = 3
"""Engine-topic partitions of the workers the tests start (fewer than production's 6)."""
ID_NUMBER = re.compile(rb"(?<![0-9A-Za-z.])[0-9]{17}[0-9X](?![0-9A-Za-z])")
"""An ID number standing alone: 17 digits and a digit or X.

Not part of a longer run of letters and digits, so a hex ``person_key`` or
``alert_id`` (whose digit runs touch a hex letter or the end of the key and
have their own length) does not match, and not the decimals of a number.
The JSON form ``"511802..."``, a bare Kafka key and an ID inside a message
all match.
"""
PHONE = re.compile(rb"(?<![0-9A-Za-z.])1[0-9]{10}(?![0-9A-Za-z])")
"""A mobile number standing alone: 11 digits starting with 1 (same boundaries as ID_NUMBER)."""

Record = tuple[int, bytes, bytes, dict[str, bytes]]
"""A record read back: (partition, key, value, headers)."""
AlertIdentity = tuple[str, str, tuple[str, ...]]
"""(rule, severity, sorted evidence): what identifies an alert in the labels."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def worker_env(settings: Settings, data_dir: Path | None = None) -> dict[str, str]:
    """The environment of a worker (or replay) process using ``settings``' topics and group.

    ``data_dir`` (``CONTROLFEED_DATA_DIR``) is where a worker's sink keeps its
    chDB store when no ClickHouse URL is set: chDB allows one process per
    path, so every worker of a test needs its own (``start_worker`` gives one).
    """
    env = {
        **os.environ,
        **topic_env(settings),
        "CONTROLFEED_TOPIC_ENGINE": settings.topic_engine,
        "CONTROLFEED_ENGINE_PARTITIONS": str(settings.engine_partitions),
        "CONTROLFEED_WORKER_GROUP": settings.worker_group,
        "CONTROLFEED_METRICS_PORT": str(free_port()),
    }
    if data_dir is not None:
        env["CONTROLFEED_DATA_DIR"] = str(data_dir)
    return env


def start_worker(
    settings: Settings, log: Path, key: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``controlfeed worker`` logging to ``log``; throwaway key (``--demo-key``) unless ``key``.

    The worker's data dir is ``<log folder>/data`` (its sink's chDB store, kept
    across a restart with the same ``log``); ``env`` adds or overrides variables
    (e.g. ``CONTROLFEED_CLICKHOUSE_URL``).
    """
    env = {**worker_env(settings, log.parent / "data"), **(env or {})}
    args = [*CLI, "worker"]
    if key is None:
        args.append("--demo-key")
    else:
        env["CONTROLFEED_PSEUDONYM_KEY"] = key
    with log.open("ab") as out:
        return subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def wait_ready(log: Path, timeout: float, times: int = 1) -> None:
    """Wait until the worker logging to ``log`` says ``Ready`` (``times`` times in all: a
    worker restarted on the same log); fail with its log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.read_bytes().count(b"Ready") >= times:
            return
        time.sleep(0.2)
    raise AssertionError(f"worker not ready:\n{log.read_text()[-3000:]}")


def read_all(
    settings: Settings, topic: str, partitions: int | None = None, *, committed: bool = True
) -> list[Record]:
    """Every record now in ``topic``: (partition, key, value, headers), read_committed
    unless ``committed=False`` (``partitions`` is unused: every partition is read)."""
    return [
        (msg.partition() or 0, msg.key() or b"", msg.value() or b"", dict(headers(msg)))
        for msg in read_topic(settings, topic, committed=committed)
    ]


def count_records(settings: Settings, topic: str, partitions: int | None = None) -> int:
    """How many committed records ``topic`` holds now (0 while it does not exist)."""
    try:
        return committed_records(settings, topic)
    except KafkaException:  # not declared yet: the worker declares it as it starts
        return 0


def settle_all(
    workers: Sequence[tuple[Settings, subprocess.Popen[bytes], Path]], timeout: float
) -> None:
    """Wait until every worker's alerts topic has stopped growing for a few seconds (bounded).

    ``workers`` are (settings, process, log); a worker that dies fails the test with its log.
    """
    deadline = time.monotonic() + timeout
    last = [-1] * len(workers)
    since = [time.monotonic()] * len(workers)
    while time.monotonic() < deadline:
        now, done = time.monotonic(), True
        for i, (settings, worker, log) in enumerate(workers):
            assert worker.poll() is None, f"worker died:\n{log.read_text()[-4000:]}"
            count = count_records(settings, settings.topic_alerts, settings.topic_partitions)
            if count != last[i]:
                last[i], since[i] = count, now
            done = done and count > 0 and now - since[i] > 6
        if done:
            return
        time.sleep(0.5)


def settle(settings: Settings, worker: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Wait until the alerts topic has stopped growing for a few seconds (bounded)."""
    settle_all([(settings, worker, log)], timeout)


def alert_identity(alert: Mapping[str, Any]) -> AlertIdentity:
    """(rule, severity, sorted evidence) of an alert or of a label."""
    return alert["rule"], alert["severity"], tuple(sorted(alert["evidence"]))


def compare_alerts(got: set[AlertIdentity], want: set[AlertIdentity]) -> str:
    """Every missing and every unexpected alert, for an assertion message."""
    missing, unexpected = sorted(want - got), sorted(got - want)
    lines = [f"missing {len(missing)}:", *(f"  - {m}" for m in missing)]
    lines += [f"unexpected {len(unexpected)}:", *(f"  + {u}" for u in unexpected)]
    return "\n".join(lines)


def assert_labelled(
    alerts: Sequence[Mapping[str, Any]], labels: Mapping[str, Any], context: str = ""
) -> None:
    """The alerts equal the labels by (rule, severity, evidence), each with one alert_id.

    ``context`` (e.g. the scenario's options, the worker's log) ends the failure message.
    """
    got = {alert_identity(a) for a in alerts}
    want = {alert_identity(a) for a in labels["alerts"]}
    assert got == want, f"{compare_alerts(got, want)}\n{context}"
    ids: dict[AlertIdentity, set[str]] = {}
    for a in alerts:
        ids.setdefault(alert_identity(a), set()).add(a["alert_id"])
    several = {k: v for k, v in ids.items() if len(v) > 1}
    assert not several, f"a repeated alert with another id: {several}\n{context}"


# ------------------------------------------------------------ a Prometheus of the test's own

PROMETHEUS_JOB = "controlfeed-worker"
"""The scrape job of ``start_prometheus``: the production config's name for the workers."""


def start_prometheus(
    folder: Path,
    web_port: int,
    target_port: int,
    extra: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Prometheus scraping ``127.0.0.1:target_port`` every second, serving on ``web_port``.

    The stack's Prometheus scrapes the fixed metrics port; a test's worker serves on a
    free one, so the test runs its own (the same binary, its own storage) and stops it
    with ``terminate``. ``extra`` adds top-level config (``rule_files``, ``alerting``);
    ``labels`` are its external labels (they mark what it sends to Alertmanager).
    """
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: run `make setup` (Debian's prometheus package)"
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                   "external_labels": dict(labels or {})},
        "scrape_configs": [{"job_name": PROMETHEUS_JOB,
                            "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
        **(extra or {}),
    }  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    with (folder / "prometheus.log").open("ab") as out:
        return subprocess.Popen(
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{web_port}",
            ],
            cwd=folder, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def prometheus_query(port: int, promql: str) -> list[dict[str, Any]]:
    """The result vector of an instant query on the Prometheus at ``port``."""
    url = f"http://127.0.0.1:{port}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    assert body["data"]["resultType"] == "vector", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def prometheus_answers(port: int, promql: str) -> bool:
    """True when the Prometheus at ``port`` answers ``promql`` with at least one sample."""
    try:
        return bool(prometheus_query(port, promql))
    except (urllib.error.URLError, OSError):
        return False
