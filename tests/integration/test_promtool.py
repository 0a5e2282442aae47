"""promtool on the Prometheus config and the pipeline's alerting rules.

promtool comes with Debian's prometheus package (scripts/setup.sh installs
it); no service is needed. Each check also runs on something deliberately
broken, so a promtool that accepts anything would fail here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from streams.devtools.stack.prometheus import PROMETHEUS_CONFIG, render_local_config
from streams.settings import Settings

PROMETHEUS_DIR = PROMETHEUS_CONFIG.parent
RULES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run `make setup` (Debian's prometheus package)"
    return subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


def _render(settings: Settings, folder: Path, source: Path = PROMETHEUS_CONFIG) -> Path:
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(render_local_config(settings, source), sort_keys=False))
    return path


def test_the_rule_files_and_their_tests_exist() -> None:
    assert [p.name for p in RULES] == ["controlfeed.yml"]
    assert RULE_TESTS


def test_check_config_accepts_the_local_render(settings: Settings, tmp_path: Path) -> None:
    result = _promtool("check", "config", _render(settings, tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "controlfeed.yml" in result.stdout  # the rule glob resolved from elsewhere


def test_check_config_fails_on_a_broken_rule_file(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "broken.yml").write_text(_BROKEN_RULES)
    source = tmp_path / "source.yml"
    source.write_text(PROMETHEUS_CONFIG.read_text())

    result = _promtool("check", "config", _render(settings, tmp_path, source))

    assert result.returncode != 0


def test_check_rules_accepts_the_pipeline_rules() -> None:
    result = _promtool("check", "rules", *RULES)

    assert result.returncode == 0, result.stdout + result.stderr


def test_check_rules_fails_on_a_broken_rule_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(_BROKEN_RULES)

    result = _promtool("check", "rules", broken)

    assert result.returncode != 0
    assert "ControlfeedBroken" in result.stdout + result.stderr or "parse" in result.stderr


@pytest.mark.parametrize("tests", RULE_TESTS, ids=lambda p: p.name)
def test_the_rule_unit_tests_pass(tests: Path) -> None:
    result = _promtool("test", "rules", tests)

    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_expectation_fails_the_rule_unit_tests(tmp_path: Path) -> None:
    spec = yaml.safe_load(RULE_TESTS[0].read_text())
    spec["rule_files"] = [str(RULE_TESTS[0].parent / f) for f in spec["rule_files"]]
    first_check = spec["tests"][0]["alert_rule_test"][0]
    first_check["exp_alerts"] = [{"exp_labels": {"severity": "critical"}}]
    wrong = tmp_path / "wrong_test.yml"
    wrong.write_text(yaml.safe_dump(spec, sort_keys=False))

    result = _promtool("test", "rules", wrong)

    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


_BROKEN_RULES = """\
groups:
  - name: broken
    rules:
      - alert: ControlfeedBroken
        expr: sum by (feed (rate(controlfeed_events_total[5m]))
"""
