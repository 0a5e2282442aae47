"""The pure parts of ``controlfeed alerts``: time parsing, filtering, formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas.alerts import Alert, alert_id
from streams.exceptions import ControlfeedError
from streams.ops.alerts.view import AlertFilter, Summary, format_line, parse_rules, parse_time

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 11, 28, 6, 30, tzinfo=UTC)


def make(
    rule: str = "fever", severity: str = "warning", event_time: datetime = T0, **fields: object
) -> Alert:
    """A valid alert at checkpoint CP-07 in grid G-North-3; ``fields`` override the rest."""
    return Alert.model_validate(
        {
            "alert_id": alert_id(rule, severity, ["e1"], event_time, "CP-07"),
            "rule": rule, "severity": severity, "subject": "checkpoint", "event_time": event_time,
            "evidence": ("e1",), "checkpoint_id": "CP-07", "grid": "G-North-3",
            "message": "Body temperature 38.4 °C at the checkpoint.", **fields,
        }
    )  # fmt: skip


def test_duration_counts_back_from_now() -> None:
    assert parse_time("2h", NOW) == NOW - timedelta(hours=2)


def test_combined_duration() -> None:
    assert parse_time("1h30m", NOW) == NOW - timedelta(minutes=90)


def test_iso_without_offset_is_local_time() -> None:
    assert parse_time("2026-11-28T14:30", NOW) == T0


def test_iso_with_offset_is_kept() -> None:
    assert parse_time("2026-11-28T06:30Z", NOW) == T0


def test_bad_time_is_a_user_error_with_hint() -> None:
    with pytest.raises(ControlfeedError) as err:
        parse_time("yesterday", NOW)
    assert "2h" in err.value.hint


def test_unknown_rule_lists_the_valid_ones() -> None:
    with pytest.raises(ControlfeedError, match="fevr") as err:
        parse_rules(["fever", "fevr"])
    assert "pharmacy-fever-purchase" in err.value.hint


def test_rule_filter() -> None:
    chosen = AlertFilter(rules=parse_rules(["fever"]))
    assert chosen.matches(make("fever")) and not chosen.matches(make("no-code"))


def test_severity_is_a_minimum() -> None:
    chosen = AlertFilter(min_severity="warning")
    kept = [s for s in ("info", "warning", "critical") if chosen.matches(make(severity=s))]
    assert kept == ["warning", "critical"]


def test_place_matches_grid_substring_case_insensitively() -> None:
    assert AlertFilter(place="north").matches(make())
    assert AlertFilter(place="cp-07").matches(make())
    assert not AlertFilter(place="South").matches(make())


def test_since_inclusive_until_exclusive() -> None:
    assert AlertFilter(since=T0).matches(make())
    assert not AlertFilter(until=T0).matches(make())
    assert AlertFilter(until=T0 + timedelta(seconds=1)).matches(make())


def test_line_shows_local_time_severity_rule_place_person_message() -> None:
    line = format_line(make(severity="critical", person_masked="5***1X")).plain
    assert line.startswith("2026-11-28 14:30:00+08:00  critical")
    assert "fever" in line and "checkpoint CP-07 · grid G-North-3" in line
    assert "person 5***1X" in line and line.endswith("38.4 °C at the checkpoint.")


def test_severity_is_coloured() -> None:
    spans = format_line(make(severity="critical")).spans
    assert [s.style for s in spans] == ["bold red"]


def test_line_converts_other_offsets_to_local() -> None:
    alert = make(event_time=T0.astimezone(timezone(timedelta(hours=-5))))
    assert format_line(alert).plain.startswith("2026-11-28 14:30:00+08:00")


def test_summary_counts_per_severity() -> None:
    summary = Summary()
    for severity in ("critical", "warning", "warning"):
        summary.add(make(severity=severity))
    assert summary.line() == "3 alerts shown: 1 critical, 2 warning, 0 info"


def test_a_repeated_alert_id_is_shown_once_and_counted() -> None:
    summary = Summary()

    first, again = summary.first_time(make()), summary.first_time(make())

    assert (first, again) == (True, False)
    assert "1 repeat(s) of the same alert_id hidden" in summary.line()
