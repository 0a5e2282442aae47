"""``controlfeed validate``: counts, bad lines, exit statuses, file errors."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from streams.cli import cli, main
from tests.unit.test_schemas_feeds import CHECKPOINT, RISK_AREA, VENUE, changed, encode

GOOD = encode(CHECKPOINT)
HOT = changed(CHECKPOINT, "temperature_c", 44.0)


def _file(tmp_path: Path, *lines: bytes, name: str = "events.jsonl") -> Path:
    path = tmp_path / name
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["validate", *map(str, args)])


def test_a_valid_file_exits_0_and_counts_per_feed(tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD, encode(RISK_AREA), encode(VENUE), GOOD)

    result = _run(path)

    assert result.exit_code == 0, result.output
    assert re.search(r"checkpoint_scan\s*│\s*2\s*│", result.output)


def test_a_bad_line_exits_1_with_its_line_number_and_reason(tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD, b"", HOT)

    result = _run(path)

    assert result.exit_code == 1
    assert f"{path}:3: bad_value:temperature_c" in result.output


def test_report_only_exits_0_despite_bad_lines(tmp_path: Path) -> None:
    result = _run("--report-only", _file(tmp_path, HOT))

    assert result.exit_code == 0
    assert "bad_value:temperature_c" in result.output


def test_json_report_counts_lines_feeds_and_reasons(tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD, b"   ", HOT, b"[1]")

    report = json.loads(_run("--json", path).stdout)

    assert (report["records"], report["valid"], report["bad"], report["blank"]) == (3, 1, 2, 1)
    assert report["feeds"]["checkpoint_scan"] == {"valid": 1, "bad": 1}
    assert report["reasons"] == {"bad_value:temperature_c": 1, "not_an_object": 1}
    assert [b["line"] for b in report["bad_lines"]] == [3, 4]


def test_bad_lines_shown_are_limited_by_the_flag(tmp_path: Path) -> None:
    path = _file(tmp_path, HOT, HOT, HOT)

    report = json.loads(_run("--json", "--bad-lines", "1", path).stdout)

    assert report["bad"] == 3
    assert len(report["bad_lines"]) == 1


def test_gzip_files_are_read(tmp_path: Path) -> None:
    path = _file(tmp_path, GOOD, HOT, name="events.jsonl.gz")

    result = _run(path)

    assert result.exit_code == 1
    assert f"{path}:2: bad_value:temperature_c" in result.output


def test_shown_lines_never_carry_a_raw_id_number(tmp_path: Path) -> None:
    id_first = encode({"person_id": CHECKPOINT["person_id"]} | json.loads(HOT))

    result = _run(_file(tmp_path, id_first))

    assert CHECKPOINT["person_id"] not in result.output
    assert "5***************17" in result.output


def _words(text: str) -> str:
    """``text`` with rich's line wrapping undone."""
    return " ".join(text.split())


def _exit_of_main(args: list[str]) -> int:
    with pytest.raises(SystemExit) as stopped:
        main(["validate", *args])
    return int(stopped.value.code or 0)


def test_a_missing_file_is_a_message_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_of_main([str(tmp_path / "nope.jsonl")]) == 2

    err = _words(capsys.readouterr().err)
    assert "no such file" in err and "what to do" in err and "Traceback" not in err


def test_a_gz_file_that_is_not_gzip_is_a_message_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(GOOD)

    assert _exit_of_main([str(path)]) == 2
    assert "not a valid gzip file" in _words(capsys.readouterr().err)


def test_a_truncated_gzip_file_is_a_message_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(GOOD * 100)[:40])

    assert _exit_of_main([str(path)]) == 2
    assert "not a valid gzip file" in _words(capsys.readouterr().err)


def test_a_directory_is_a_message_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_of_main([str(tmp_path)]) == 2
    assert "is a directory" in _words(capsys.readouterr().err)


def test_every_file_is_checked_before_any_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _file(tmp_path, GOOD)

    assert _exit_of_main([str(good), str(tmp_path / "missing.jsonl")]) == 2
    assert "checkpoint_scan" not in capsys.readouterr().out
