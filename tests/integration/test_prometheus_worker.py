"""A real Prometheus scrapes a running worker while the sample scenario is replayed.

Issue 6, first "Done when": PromQL through Prometheus's HTTP API gives the
sample's totals (valid events per feed, alerts per rule and severity, dead
letters per reason) as its labels count them, and no label value of any
``controlfeed_*`` series Prometheus stored looks like an ID, phone or event id.

The shared Prometheus of the stack scrapes the fixed metrics port, so this test
starts its own (the same binary, a 1 s scrape of this worker's free port, its
own storage and listen port) and stops it at the end. The worker runs on topics
and a consumer group of this test.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from streams.devtools.demo import SAMPLE, sample_labels
from streams.devtools.stack.process import tail, terminate, wait_until
from streams.metric_labels import check_label
from streams.settings import PROJECT_ROOT, Settings
from tests.integration.helpers import (
    CLI,
    PROMETHEUS_JOB,
    free_port,
    prometheus_answers,
    prometheus_query,
    run_cli,
    settle,
    start_prometheus,
    wait_ready,
    worker_env,
)

JOB = PROMETHEUS_JOB


# ----------------------------------------------------------------- what the labels say


def _expected() -> tuple[Counter[str], Counter[tuple[str, str]], Counter[str]]:
    """Valid events per feed, alerts per (rule, severity), dead letters per reason."""
    labels = sample_labels()
    bad = {m["line"] for m in labels["malformed"]}
    events: Counter[str] = Counter()
    for number, line in enumerate(SAMPLE.read_bytes().splitlines(), start=1):
        if number not in bad and line.strip():
            events[json.loads(line)["feed"]] += 1
    assert events == Counter(labels["events"]), "the sample's lines disagree with its labels"
    alerts = Counter((a["rule"], a["severity"]) for a in labels["alerts"])
    reasons = Counter(m["reason"] for m in labels["malformed"])
    return events, alerts, reasons


# ------------------------------------------------------------ our own Prometheus


def _scraped_since(port: int, since: float) -> bool:
    """True once the latest scrape of the worker started after ``since`` (unix seconds)."""
    try:
        result = prometheus_query(
            port, f'timestamp(up{{job="{JOB}"}})'
        )  # a selector: the scrape's time
    except (urllib.error.URLError, OSError):
        return False
    return bool(result) and float(result[0]["value"][1]) > since


def _totals(port: int, metric: str, *by: str) -> dict[tuple[str, ...], int]:
    """``sum by (BY) (metric)`` as {label values: integer total}, zero totals left out."""
    result = prometheus_query(port, f'sum by ({", ".join(by)}) ({metric}{{job="{JOB}"}})')
    totals = {tuple(r["metric"].get(b, "") for b in by): float(r["value"][1]) for r in result}
    assert all(v == int(v) for v in totals.values()), f"{metric}: a fractional count {totals}"
    return {k: int(v) for k, v in totals.items() if v}


def _id_like_labels(series: list[dict[str, Any]]) -> list[str]:
    """Every ``name{label="value"}`` whose value ``check_label`` refuses."""
    refused = []
    for s in series:
        for label, value in s["metric"].items():
            try:
                check_label(value)
            except ValueError as err:
                refused.append(f'{s["metric"].get("__name__")}{{{label}="{value}"}}: {err}')
    return refused


# ----------------------------------------------------------------------------- the test


def test_prometheus_totals_equal_the_sample_labels(
    worker_settings: Settings, tmp_path: Path
) -> None:
    settings, log = worker_settings, tmp_path / "worker.log"
    want_events, want_alerts, want_reasons = _expected()
    metrics_port, web_port = free_port(), free_port()
    env = {**worker_env(settings, tmp_path / "data"), "CONTROLFEED_METRICS_PORT": str(metrics_port)}
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [*CLI, "worker", "--demo-key"],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    prometheus = start_prometheus(tmp_path / "prometheus", web_port, metrics_port)
    prom_log = tmp_path / "prometheus" / "prometheus.log"
    try:
        wait_ready(log, 30)
        target_up = f'up{{job="{JOB}",instance="127.0.0.1:{metrics_port}"}} == 1'
        assert wait_until(
            lambda: prometheus_answers(web_port, target_up), timeout=30, interval=0.5
        ), (
            f"Prometheus never scraped the worker on :{metrics_port}\n"
            f"prometheus log:\n{tail(prom_log)}\nworker log:\n{tail(log)}"
        )
        time.sleep(3)  # the input is idle when the burst comes: sources must wake in time
        replayed = run_cli("replay", "--no-progress", "--create-topics", str(SAMPLE),
                           settings=settings)  # fmt: skip
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        settle(settings, worker, log, timeout=60)
        settled = time.time()
        assert wait_until(lambda: _scraped_since(web_port, settled), timeout=15, interval=0.5), (
            f"no scrape of the worker after it settled\nprometheus log:\n{tail(prom_log)}"
        )
        assert worker.poll() is None, f"worker died:\n{tail(log, 40)}"
        events = _totals(web_port, "controlfeed_events_total", "feed")
        alerts = _totals(web_port, "controlfeed_alerts_total", "rule", "severity")
        dead = _totals(web_port, "controlfeed_dead_letters_total", "reason")
        series = prometheus_query(web_port, f'{{__name__=~"controlfeed_.+",job="{JOB}"}}')
    finally:
        terminate(worker)
        terminate(prometheus)

    context = f"\nworker log:\n{tail(log, 30)}"
    assert events == {(f,): n for f, n in want_events.items()}, f"events per feed{context}"
    missing, extra = want_alerts - Counter(alerts), Counter(alerts) - want_alerts
    assert alerts == dict(want_alerts), (
        f"alerts per rule and severity: missing {sorted(missing.items())}, "
        f"extra {sorted(extra.items())}{context}"
    )
    assert dead == {(r,): n for r, n in want_reasons.items()}, f"dead letters per reason{context}"
    names = {s["metric"]["__name__"] for s in series}
    counted = {"controlfeed_events_total", "controlfeed_alerts_total"}
    assert counted | {"controlfeed_dead_letters_total"} <= names, f"series: {sorted(names)}"
    refused = _id_like_labels(series)
    assert not refused, "id-like label values:\n" + "\n".join(refused)
