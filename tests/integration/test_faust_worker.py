"""A Faust worker, run as its own process, moves one record from one topic to another."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from streams.settings import PROJECT_ROOT, Settings
from tests.integration.conftest import TopicFactory


def _first_record(consumer: KafkaConsumer, worker: subprocess.Popen[bytes], timeout: float) -> Any:
    """The first record of the consumer's topic, or None once the worker dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.poll() is None:
        for records in consumer.poll(timeout_ms=1000).values():
            return records[0]
    return None


def test_one_message_in_one_out(
    settings: Settings, new_topic: TopicFactory, tmp_path: Path
) -> None:
    source, sink = new_topic(), new_topic()
    env = {
        **os.environ,
        "CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "ECHO_APP_ID": f"test-echo-{uuid.uuid4().hex[:8]}",
        "ECHO_IN": source,
        "ECHO_OUT": sink,
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", "tests.integration.apps.echo",
             "--datadir", str(tmp_path / "faust"), "worker", "--loglevel", "info"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
        producer.send(source, value=b'{"feed":"checkpoint_scan"}').get(timeout=10)
        producer.close()
        consumer = KafkaConsumer(
            sink, bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest"
        )
        received = _first_record(consumer, worker, timeout=90)
        consumer.close()
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    assert received is not None, f"no record from the worker; its log:\n{log.read_text()[-3000:]}"
    assert received.value == b'echo:{"feed":"checkpoint_scan"}'
