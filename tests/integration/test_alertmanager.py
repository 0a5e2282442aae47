"""The pipeline's alerting rules reach Alertmanager: the local stack's, over loopback.

Issue 14: ``amtool check-config`` accepts the stack's config, and a real rule fires
into the stack's Alertmanager. The rules are ``docker/prometheus/rules/controlfeed.yml``
with every ``for:`` cut to 0 s (a test cannot wait five minutes); the expressions are
the production ones. A worker that reads nothing makes ``ControlfeedFeedSilent`` fire
for each live feed (the worker exports every feed's counter at 0 from its start);
the negative control is ``ControlfeedWorkerDown``, which must not fire while the
worker answers. A test's own Prometheus scrapes the test's worker and carries an
external label of the test's, so alerts of other runs never count.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

from streams.devtools.stack import Stack
from streams.devtools.stack.alertmanager import AlertmanagerService
from streams.devtools.stack.process import tail, terminate, wait_until
from streams.devtools.stack.prometheus import PROMETHEUS_CONFIG
from streams.settings import Settings
from tests.integration.helpers import free_port, start_prometheus, start_worker, wait_ready

LIVE_FEEDS = {"checkpoint_scan", "venue_scan", "patrol_event"}


def _rules_without_waiting(folder: Path) -> Path:
    """The production rule files with every ``for:`` set to 0 s, written under ``folder``."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    out = folder / "rules.yml"
    groups: list[dict[str, Any]] = []
    for pattern in config["rule_files"]:
        for path in sorted(PROMETHEUS_CONFIG.parent.glob(pattern)):
            for group in yaml.safe_load(path.read_text())["groups"]:
                for rule in group["rules"]:
                    if "for" in rule:
                        rule["for"] = "0s"
                groups.append(group)
    assert groups, "no alerting rules found"
    folder.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return out


def _alerts(settings: Settings, run: str) -> list[dict[str, Any]]:
    """The alerts the stack's Alertmanager holds from this test's Prometheus."""
    url = f"{settings.alertmanager_url}/api/v2/alerts?filter=test_run%3D%22{run}%22"
    with urllib.request.urlopen(url, timeout=5) as resp:
        found: list[dict[str, Any]] = json.load(resp)
    return found


def test_amtool_accepts_the_local_config(stack: Stack, settings: Settings) -> None:
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: run `make setup` (Debian's prometheus-alertmanager)"
    config = AlertmanagerService(settings).config_path

    checked = subprocess.run([amtool, "check-config", str(config)], capture_output=True,
                             text=True, check=False)  # fmt: skip
    broken = config.parent / "broken.yml"
    broken.write_text("route:\n  receiver: nobody\nreceivers: []\n")
    refused = subprocess.run([amtool, "check-config", str(broken)], capture_output=True,
                             text=True, check=False)  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert refused.returncode != 0  # the check can fail: a route to an undefined receiver


def test_a_silent_feed_fires_into_alertmanager(
    stack: Stack, worker_settings: Settings, settings: Settings, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:12]
    log, metrics_port, web_port = tmp_path / "worker.log", free_port(), free_port()
    worker = start_worker(worker_settings, log,
                          env={"CONTROLFEED_METRICS_PORT": str(metrics_port)})  # fmt: skip
    extra = {
        "rule_files": [str(_rules_without_waiting(tmp_path / "rules"))],
        "alerting": {"alertmanagers": [{"static_configs": [
            {"targets": [f"127.0.0.1:{settings.alertmanager_port}"]}]}]},
    }  # fmt: skip
    prometheus = start_prometheus(tmp_path / "prometheus", web_port, metrics_port, extra,
                                  labels={"test_run": run})  # fmt: skip
    try:
        wait_ready(log, 60)

        def silent_feeds() -> set[str]:
            return {
                a["labels"].get("feed", "")
                for a in _alerts(settings, run)
                if a["labels"]["alertname"] == "ControlfeedFeedSilent"
            }

        fired = wait_until(lambda: silent_feeds() >= LIVE_FEEDS, timeout=60, interval=0.5)
        found = _alerts(settings, run)
    finally:
        terminate(prometheus)
        terminate(worker)

    prom_log = tail(tmp_path / "prometheus" / "prometheus.log")
    assert fired, f"alerts: {found}\nprometheus log:\n{prom_log}"
    names = {a["labels"]["alertname"] for a in found}
    assert "ControlfeedWorkerDown" not in names  # the worker answered all along
    silent = next(a for a in found if a["labels"]["alertname"] == "ControlfeedFeedSilent")
    assert silent["labels"]["severity"] == "warning" and silent["status"]["state"] == "active"
    assert "has delivered no valid event" in silent["annotations"]["summary"]
