"""``controlfeed alerts`` against the real broker, on an alerts topic of the test's own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas.alerts import Alert, alert_id
from streams.kafka import clients
from streams.settings import Settings
from tests.integration.helpers import run_cli

T0 = datetime(2026, 11, 28, 6, 30, tzinfo=UTC)


def _alert(rule: str, severity: str, minute: int, checkpoint: str) -> Alert:
    when = T0 + timedelta(minutes=minute)
    evidence = (f"ev-{minute}",)
    return Alert(
        alert_id=alert_id(rule, severity, evidence, when, checkpoint),
        rule=rule, severity=severity, subject="checkpoint", event_time=when,  # type: ignore[arg-type]
        evidence=evidence, checkpoint_id=checkpoint, grid="G-North-3",
        person_masked="5***************1X", message=f"{rule} at {checkpoint}",
    )  # fmt: skip


ALERTS = [
    _alert("fever", "warning", 0, "CP-01"),
    _alert("no-code", "info", 1, "CP-02"),
    _alert("fever", "critical", 2, "CP-03"),
    _alert("crowding", "warning", 3, "CP-04"),
]


def _produce(settings: Settings, values: list[bytes]) -> None:
    producer = clients.producer(settings, "test-alerts")
    for value in values:
        producer.produce(settings.topic_alerts, value=value)
    assert producer.flush(30) == 0


def test_json_output_keeps_only_the_chosen_rule(declared: Settings) -> None:
    _produce(declared, [a.model_dump_json().encode() for a in ALERTS] + [b"{not json"])
    done = run_cli("alerts", "--json", "--rule", "fever", settings=declared)
    assert done.returncode == 0, done.stderr
    shown = [Alert.model_validate(json.loads(line)) for line in done.stdout.splitlines()]
    assert sorted(a.alert_id for a in shown) == sorted(a.alert_id for a in ALERTS[::2])
    assert "not a valid alert" in done.stderr


def test_readable_lines_and_summary(declared: Settings) -> None:
    _produce(declared, [a.model_dump_json().encode() for a in ALERTS])
    done = run_cli("alerts", "--severity", "warning", "--place", "cp-03", settings=declared)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("2026-11-28 14:32:00+08:00  critical  fever")
    assert "checkpoint CP-03 · grid G-North-3" in lines[0]
    assert "person 5***************1X" in lines[0] and lines[0].endswith("fever at CP-03")
    assert lines[-1] == "1 alert shown: 1 critical, 0 warning, 0 info"


def test_missing_topic_names_it_and_the_fix(mine: Settings) -> None:
    done = run_cli("alerts", settings=mine)
    assert done.returncode == 2
    assert mine.topic_alerts in done.stderr and "controlfeed topics create" in done.stderr


def test_unknown_rule_is_a_user_error(mine: Settings) -> None:
    done = run_cli("alerts", "--rule", "fevr", settings=mine)
    assert done.returncode == 2 and "risk-area-visitor" in done.stderr
