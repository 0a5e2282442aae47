"""amtool on the production Alertmanager config (docker/alertmanager/alertmanager.yml).

amtool comes with Debian's prometheus-alertmanager (scripts/setup.sh installs
it); no service is needed. ``check-config`` must accept the file and refuse a
broken copy; ``config routes test`` must send every alerting rule of
docker/prometheus/rules/controlfeed.yml where its severity says.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from streams.devtools.stack.prometheus import PROMETHEUS_CONFIG
from streams.settings import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "docker" / "alertmanager" / "alertmanager.yml"
RULES = sorted((PROMETHEUS_CONFIG.parent / "rules").glob("*.yml"))
RECEIVERS = {
    "critical": "dispatch-webhook,operators-email",
    "warning": "operators-email",
}
"""Where each severity of the rules must go (the routing example of the config's header)."""


def _amtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: run `make setup` (Debian's prometheus-alertmanager)"
    return subprocess.run(
        [amtool, *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


def _rules() -> list[tuple[str, str]]:
    """(alert name, severity) of every alerting rule."""
    return [
        (rule["alert"], rule["labels"]["severity"])
        for path in RULES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def test_check_config_accepts_the_production_config() -> None:
    result = _amtool("check-config", CONFIG)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_check_config_refuses_a_route_to_an_unknown_receiver(tmp_path: Path) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    config["route"]["routes"][0]["receiver"] = "nobody"
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(yaml.safe_dump(config, sort_keys=False))

    result = _amtool("check-config", broken)

    assert result.returncode != 0
    assert "nobody" in result.stdout + result.stderr


def test_every_rule_has_a_severity_the_routes_know() -> None:
    assert {severity for _, severity in _rules()} <= set(RECEIVERS)


@pytest.mark.parametrize(("alert", "severity"), _rules(), ids=lambda v: str(v))
def test_each_rule_reaches_the_receivers_of_its_severity(alert: str, severity: str) -> None:
    result = _amtool(
        "config", "routes", "test", f"--config.file={CONFIG}",
        f"--verify.receivers={RECEIVERS[severity]}", f"alertname={alert}", f"severity={severity}",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
