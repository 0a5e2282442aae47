"""The Prometheus server of the stack, and promtool on the production config."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request

from streams.devtools.stack import Stack
from streams.devtools.stack.process import wait_until
from streams.devtools.stack.prometheus import PROMETHEUS_CONFIG
from streams.settings import Settings


def _query(settings: Settings, promql: str) -> list[dict[str, object]]:
    url = f"{settings.prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.load(resp)
    assert body["status"] == "success"
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def test_prometheus_scrapes_itself(stack: Stack, settings: Settings) -> None:
    def scraped() -> bool:
        return bool(_query(settings, 'up{job="prometheus"} == 1'))

    assert wait_until(scraped, timeout=30, interval=1)


def test_the_local_config_loads_the_production_rules(stack: Stack, settings: Settings) -> None:
    url = f"{settings.prometheus_url}/api/v1/rules"
    with urllib.request.urlopen(url, timeout=5) as resp:
        groups = json.load(resp)["data"]["groups"]

    names = {rule["name"] for group in groups for rule in group["rules"]}
    assert "ControlfeedWorkerDown" in names


def test_promtool_accepts_the_production_config() -> None:
    result = subprocess.run(
        ["promtool", "check", "config", str(PROMETHEUS_CONFIG)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
