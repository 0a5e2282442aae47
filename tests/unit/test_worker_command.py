"""``controlfeed worker`` refuses, before it consumes, settings that would break at run time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.exceptions import ControlfeedError
from streams.settings import PROJECT_ROOT, Settings
from streams.worker.startup import check_labels, pseudonym_key

CLI = [sys.executable, "-c", "from streams.cli import main; main()"]


def _worker(**env: str) -> subprocess.CompletedProcess[str]:
    """The worker as a user starts it; the broker address leads nowhere, so reaching it
    would hang on the topics instead of failing at once."""
    return subprocess.run(
        [*CLI, "worker", "--demo-key"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", **env},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("variable", "topic"),
    [
        ("CONTROLFEED_TOPIC_CHECKPOINT_SCANS", "t1796196186.feeds.checkpoint-scans"),
        ("CONTROLFEED_TOPIC_VENUE_SCANS", "site-001.feeds.venue-scans"),
        ("CONTROLFEED_TOPIC_ENGINE", "controlfeed." + "e" * 60),
    ],
)
def test_a_topic_name_that_cannot_be_a_label_is_refused_naming_the_setting(
    variable: str, topic: str
) -> None:
    done = _worker(**{variable: topic})

    assert done.returncode == 2, done.stderr
    assert variable in done.stderr
    assert "Traceback" not in done.stderr


def test_the_default_topic_names_pass() -> None:
    check_labels(Settings())


def test_check_labels_says_what_the_name_looks_like() -> None:
    settings = Settings(topic_patrol_events="run-123456789.patrol")

    with pytest.raises(ControlfeedError, match="looks like an ID or phone number"):
        check_labels(settings)


def test_a_rules_file_with_a_warning_above_its_critical_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[thresholds]\nfever_warning_c = 39.0\n")

    done = _worker(CONTROLFEED_RULES_FILE=str(rules))

    err = " ".join(done.stderr.split())
    assert done.returncode == 2, done.stderr
    assert "fever_warning_c (39) must be below fever_critical_c (38.5)" in err
    assert str(rules) in err and "Traceback" not in err


def test_the_pseudonym_key_is_the_first_line_of_its_file(tmp_path: Path) -> None:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("  0123abcd  \nsecond line\n")

    assert pseudonym_key(Settings(pseudonym_key_file=key_file), demo=False) == b"0123abcd"


@pytest.mark.parametrize("content", [None, "", "\n"])
def test_a_missing_or_empty_pseudonym_key_file_is_refused_naming_the_setting(
    tmp_path: Path, content: str | None
) -> None:
    key_file = tmp_path / "pseudonym.key"
    if content is not None:
        key_file.write_text(content)

    with pytest.raises(ControlfeedError) as caught:
        pseudonym_key(Settings(pseudonym_key_file=key_file), demo=False)

    said = f"{caught.value} {caught.value.hint}"
    assert str(key_file) in said
    assert "CONTROLFEED_PSEUDONYM_KEY_FILE" in said or "empty" in said
