"""``validate`` and ``generate`` with ``-`` for standard input and output, and
``generate --force``, each as a user types it."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.cli import main
from streams.settings import PROJECT_ROOT

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]
SAMPLE = PROJECT_ROOT / "data" / "sample" / "scenario.jsonl"
SHORT = ["--duration", "10m", "--rate", "1", "--no-progress"]


def _cli(
    *args: str, stdin: bytes = b"", cwd: Path = PROJECT_ROOT
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, timeout=120,
                          check=False, cwd=cwd, env={**os.environ, "COLUMNS": "200"})  # fmt: skip


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_validate_reads_standard_input(compress: bool) -> None:
    data = SAMPLE.read_bytes()

    done = _cli("validate", "--json", "-", stdin=gzip.compress(data) if compress else data)

    report = json.loads(done.stdout)
    assert done.returncode == 1  # the sample's bad lines, on purpose
    assert report["files"] == ["-"] and report["records"] == len(data.splitlines())
    assert b"Traceback" not in done.stderr


def test_generate_writes_standard_output_and_its_summary_to_stderr(tmp_path: Path) -> None:
    done = _cli("generate", "-", *SHORT, cwd=tmp_path)

    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines and all(json.loads(line)["feed"] for line in lines)
    assert b"wrote standard output" in done.stderr and b"labels not written" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_generate_to_stdout_pipes_into_validate(tmp_path: Path) -> None:
    made = _cli("generate", "-", *SHORT, "--malformed-rate", "0", cwd=tmp_path)

    checked = _cli("validate", "-", stdin=made.stdout)

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_generate_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.jsonl"
    out.write_text("keep me\n")

    with pytest.raises(SystemExit) as exit_:
        main(["generate", str(out), *SHORT])

    err = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 2 and f"{out} exists already" in err and "--force" in err
    assert out.read_text() == "keep me\n" and "Traceback" not in err


def test_generate_force_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.jsonl"
    out.write_text("old\n")

    main(["generate", str(out), *SHORT, "--force"])

    assert out.read_text() != "old\n" and (tmp_path / "s.labels.json").is_file()
