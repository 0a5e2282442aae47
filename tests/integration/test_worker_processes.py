"""``controlfeed worker --processes N``: N processes in one group raise exactly one worker's
alerts, serve one metrics page, keep the key out of sight, and die with their parent.

The parent and its children are real processes on the real broker; the
sample scenario's labels are the oracle (``streams.worker.processes``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from streams.devtools.demo import SAMPLE, sample_labels
from streams.devtools.stack.process import terminate
from streams.settings import Settings
from tests.integration.helpers import (
    CLI,
    ENGINE_PARTITIONS,
    assert_labelled,
    count_records,
    read_all,
    run_cli,
    settle,
    start_worker,
    wait_ready,
    worker_env,
)


def _children(parent: int) -> list[int]:
    """Pids of the processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _metrics(env: dict[str, str]) -> str:
    url = f"http://127.0.0.1:{env['CONTROLFEED_METRICS_PORT']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def _by_process(page: str, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name:
                process = sample.labels["process"]
                out[process] = out.get(process, 0.0) + sample.value
    return out


def _two_processes(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The environment of a worker of two processes, its data dir in ``tmp_path``."""
    return {**worker_env(settings, tmp_path / "data"), "CONTROLFEED_WORKER_PROCESSES": "2"}


def _alerts(settings: Settings) -> list[dict[str, object]]:
    return [json.loads(r[2]) for r in read_all(settings, settings.topic_alerts)]


def test_two_processes_raise_the_labelled_alerts_with_one_metrics_page(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, log, labels = worker_settings, tmp_path / "worker.log", sample_labels()
    key, env = uuid.uuid4().hex, _two_processes(settings, tmp_path)
    worker = start_worker(settings, log, key, env=env)
    try:
        wait_ready(log, 60)
        children = _children(worker.pid)
        assert len(children) == 2, log.read_text()[-3000:]
        for pid in children:  # the key reaches the children on stdin only
            assert key.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
            assert key.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
        replayed = run_cli("replay", "--no-progress", str(SAMPLE), settings=settings)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        settle(settings, worker, log, timeout=75)
        page = _metrics(env)
    finally:
        terminate(worker)

    assert_labelled(_alerts(settings), labels, log.read_text()[-3000:])
    events = _by_process(page, "controlfeed_events_total")
    engine = _by_process(page, "controlfeed_engine_records_total")
    assert set(events) == set(engine) == {"0", "1"}, "each sample carries its process label"
    assert events["0"] > 0 and events["1"] == 0, f"process 0 ingests: {events}"
    assert engine["1"] > 0 and engine["0"] == 0, f"process 1 runs the engines: {engine}"
    assert 'controlfeed_worker_process_up{process="1"} 1.0' in page
    assert worker.returncode == 0, log.read_text()[-3000:]
    assert log.read_bytes().count(b"Ready") == 1, "one Ready line for the whole worker"
    assert key not in log.read_text()


def test_a_killed_parent_takes_its_processes_and_a_restart_misses_no_alert(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, log, labels = worker_settings, tmp_path / "worker.log", sample_labels()
    key, env = uuid.uuid4().hex, _two_processes(settings, tmp_path)
    worker = start_worker(settings, log, key, env=env)
    wait_ready(log, 60)  # before the feed: the kill must come mid-stream
    replay = subprocess.Popen(
        [*CLI, "replay", "--no-progress", "--create-topics", "--rate", "1000", str(SAMPLE)],
        env=worker_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        children = _children(worker.pid)
        deadline = time.monotonic() + 60
        while (
            count_records(settings, settings.topic_engine, ENGINE_PARTITIONS) < 2000
            and time.monotonic() < deadline
        ):
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        os.kill(worker.pid, signal.SIGKILL)  # the parent only
        worker.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children):
            assert time.monotonic() < deadline, "a child outlived its killed parent"
            time.sleep(0.1)
        assert replay.wait(timeout=60) == 0
        killed_at = count_records(settings, settings.topic_alerts)
        worker = start_worker(settings, log, key, env=env)
        wait_ready(log, 90, times=2)
        settle(settings, worker, log, timeout=75)
    finally:
        terminate(worker)
        terminate(replay)

    alerts = _alerts(settings)
    assert_labelled(alerts, labels, log.read_text()[-3000:])
    assert killed_at < len(labels["alerts"]), "the worker was killed after it had finished"
    ids = [a["alert_id"] for a in alerts]
    assert len(ids) == len(set(ids)), "an alert record was repeated after the kill"
