"""The kafka-python consumer of ``docs/downstream.md``, run as a downstream system would.

A transactional producer (as the worker) writes alerts into a topic of the
test's own: some in committed transactions, some in an aborted one and some
in one left open. The example, read from the page itself, must print every
committed alert once and nothing else; the same code with
``read_uncommitted`` (the client's default) prints the aborted ones too,
which is why the page asks for the setting.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from streams.kafka.clients import producer
from streams.settings import PROJECT_ROOT, Settings
from tests.integration.conftest import TopicFactory

PAGE = PROJECT_ROOT / "docs" / "downstream.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1, "docs/downstream.md should hold one Python example"
    return str(blocks[0])


def _alert(n: int) -> bytes:
    return json.dumps(
        {"alert_id": f"{n:032x}", "severity": "warning", "rule": "fever", "message": f"m{n}"}
    ).encode()


def _write(settings: Settings, topic: str) -> None:
    sender = producer(settings, "test-downstream", f"test-downstream-{topic}")
    sender.init_transactions(30)
    for batch, outcome in (
        (range(0, 3), "commit"),
        (range(3, 5), "abort"),
        (range(5, 7), "commit"),
    ):
        sender.begin_transaction()
        for n in batch:
            sender.produce(topic, _alert(n), b"k")
        if outcome == "commit":
            sender.commit_transaction(30)
        else:
            sender.flush(30)
            sender.abort_transaction(30)
    sender.begin_transaction()  # left open: its alert must not show either
    sender.produce(topic, _alert(99), b"k")
    sender.flush(30)


def _run(code: str, settings: Settings, topic: str, tmp_path: Path, want: int) -> list[str]:
    script = tmp_path / "follow_alerts.py"
    script.write_text(code)
    env = {
        **os.environ,
        "ALERTS_TOPIC": topic,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "GROUP_ID": f"grid-app-{topic}",
    }
    out = tmp_path / "out.txt"
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=sink)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(out.read_text().splitlines()) < want:
            assert proc.poll() is None, "the example exited"
            time.sleep(0.2)
        time.sleep(3)  # long enough for anything more to show
    finally:
        proc.terminate()
        proc.wait(10)
    return [line.split()[0] for line in out.read_text().splitlines()]


def test_the_example_prints_each_committed_alert_once(
    settings: Settings, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = new_topic()
    _write(settings, topic)

    printed = _run(_example(), settings, topic, tmp_path, want=5)

    assert printed == [f"{n:032x}" for n in (0, 1, 2, 5, 6)]


def test_without_read_committed_the_aborted_alerts_show(
    settings: Settings, new_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = new_topic()
    _write(settings, topic)
    example = _example()
    code = example.replace('isolation_level="read_committed"', 'isolation_level="read_uncommitted"')
    assert code != example

    printed = _run(code, settings, topic, tmp_path, want=8)

    assert f"{3:032x}" in printed and f"{99:032x}" in printed
