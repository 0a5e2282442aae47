"""Every query of the Grafana dashboard answers from a real Prometheus scraping a real worker.

Issue 14, "every Grafana panel query returns data": while the sample is
replayed (paced, so the rates are measured during the replay) through a worker
that stores into ClickHouse, each target's ``expr`` of
``docker/grafana/dashboards/controlfeed.json`` is asked of Prometheus's HTTP
API until it has answered with at least one series holding a number (not
NaN: a latency quantile of no alerts is NaN), bounded in time. A panel with a
wrong metric or label name never answers and fails the test; the test also
asks one deliberately misspelled query to show that it would.

Prometheus is the local stack's binary with the production config as
``controlfeed stack up`` renders it (``render_local_config``: the DNS-found
workers become one static target, the 5 s scrape interval, the rule files),
but on free ports and its own storage, stopped at the end: the stack's own
Prometheus scrapes the fixed metrics port (the demo's worker may hold it) and
its storage keeps earlier runs' samples, which could answer for this one.
Grafana's ``$__rate_interval`` is replaced as Grafana computes it at its
smallest: four times the provisioned data source's ``timeInterval``;
``$__range`` by the dashboard's default range.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from streams.devtools.demo import SAMPLE
from streams.devtools.stack.process import tail, terminate, wait_until
from streams.devtools.stack.prometheus import render_local_config
from streams.settings import PROJECT_ROOT, Settings
from tests.integration.helpers import (
    CLI,
    free_port,
    start_worker,
    wait_ready,
    worker_env,
)

GRAFANA = PROJECT_ROOT / "docker" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "controlfeed.json"
DATASOURCE = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
JOB = "controlfeed-worker"
REPLAY_RATE = "250"
"""Events per second of the replay: the 3055 lines of the sample take about 12 s."""
ANSWER_TIMEOUT = 45.0
"""Seconds from the replay's start within which every query must have answered once."""


def _targets() -> list[tuple[str, str]]:
    """(panel title / refId, PromQL with Grafana's variables replaced) of every target."""
    dashboard = json.loads(DASHBOARD.read_text())
    source = yaml.safe_load(DATASOURCE.read_text())["datasources"][0]
    scrape = float(source["jsonData"]["timeInterval"].removesuffix("s"))
    variables = {
        "$__rate_interval": f"{int(4 * scrape)}s",
        "$__range": dashboard["time"]["from"].removeprefix("now-"),
    }
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for name, value in variables.items():
                expr = expr.replace(name, value)
            found.append((f"{panel['title']} / {target['refId']}", expr))
    return found


def _start_prometheus(settings: Settings, folder: Path) -> subprocess.Popen[bytes]:
    """The stack's Prometheus binary on the locally rendered production config."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: run `make setup` (Debian's prometheus package)"
    folder.mkdir(parents=True)
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(render_local_config(settings), sort_keys=False))
    with (folder / "prometheus.log").open("ab") as out:
        return subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{settings.prometheus_port}"],
            cwd=folder, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _query(port: int, promql: str) -> list[dict[str, Any]]:
    """The result vector of an instant query; an error answer (bad PromQL) fails the test."""
    url = f"http://127.0.0.1:{port}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as err:
        raise AssertionError(f"Prometheus refused {promql!r}: {err.read()[:300]!r}") from err
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _answers(port: int, promql: str) -> bool:
    """True when ``promql`` gives at least one series whose value is a number."""
    try:
        result = _query(port, promql)
    except (urllib.error.URLError, OSError):
        return False
    return any(math.isfinite(float(r["value"][1])) for r in result)


def test_every_panel_query_returns_series_during_a_replay(
    worker_settings: Settings, ch_database: str, tmp_path: Path
) -> None:
    own = worker_settings.model_copy(
        update={"metrics_port": free_port(), "prometheus_port": free_port(),
                "alertmanager_port": free_port()}  # nothing listens: no alert leaves the test
    )  # fmt: skip
    targets, log = _targets(), tmp_path / "worker.log"
    assert len(targets) >= 15, targets
    env = {
        "CONTROLFEED_METRICS_PORT": str(own.metrics_port),
        "CONTROLFEED_CLICKHOUSE_URL": f"clickhouse://127.0.0.1:{own.clickhouse_tcp_port}/{ch_database}",
        "CONTROLFEED_RETENTION_DAYS": "36500",  # the sample dates from 2022
        "CONTROLFEED_CHECKPOINT_INTERVAL_S": "2",  # several checkpoints within the test
    }
    worker = start_worker(own, log, env=env)
    prometheus = _start_prometheus(own, tmp_path / "prometheus")
    prom_log, port = tmp_path / "prometheus" / "prometheus.log", own.prometheus_port
    replay = None
    pending = dict(targets)
    try:
        wait_ready(log, 60)
        up = f'up{{job="{JOB}",instance="127.0.0.1:{own.metrics_port}"}} == 1'
        assert wait_until(lambda: _answers(port, up), timeout=30, interval=0.5), (
            f"Prometheus never scraped the worker\n{tail(prom_log)}\nworker:\n{tail(log)}"
        )
        time.sleep(3)  # the input is idle when the burst comes: sources must wake in time
        replay = subprocess.Popen(
            [*CLI, "replay", "--no-progress", "--create-topics", "--rate", REPLAY_RATE,
             str(SAMPLE)],
            env=worker_env(own),
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while pending and time.monotonic() < deadline:
            assert worker.poll() is None, f"worker died:\n{tail(log, 40)}"
            pending = {k: e for k, e in pending.items() if not _answers(port, e)}
            time.sleep(1)
        events = next(e for _, e in targets if "controlfeed_events_total" in e)
        misspelled = events.replace("controlfeed_events_total", "controlfeed_event_total")
        answered_misspelled = _answers(port, misspelled)
        assert replay.wait(timeout=60) == 0, "the replay failed"
    finally:
        terminate(worker)
        terminate(prometheus)
        if replay is not None:
            terminate(replay)

    assert not pending, (
        "panel queries that never returned a number:\n"
        + "\n".join(f"  {k}: {e}" for k, e in pending.items())
        + f"\nworker log:\n{tail(log, 20)}"
    )
    assert not answered_misspelled, f"a misspelled metric answered: {misspelled}"
