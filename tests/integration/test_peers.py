"""``python -m benchmarks.peers`` at small scale: every system's output is checked and right.

Runs the main-virtualenv systems only (a plain consumer, the Faust app and
the worker); the Quix peer needs its own virtualenv, which this test does not
make. No timing is asserted: the figures move with whatever shares the
machine, the checks do not.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from streams.devtools.stack import Stack
from streams.settings import PROJECT_ROOT

SYSTEMS = ("plain-confluent", "faust", "controlfeed")


def test_small_run_checks_every_system(stack: Stack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.peers", "--events", "3000", "--rounds", "1",
         "--systems", ",".join(SYSTEMS)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False, timeout=240,
        env={**os.environ, "COLUMNS": "220"},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for system in SYSTEMS:
        row = re.search(rf"^\s*{re.escape(system)}\s.*$", result.stdout, re.MULTILINE)
        assert row is not None, f"no row for {system}:\n{result.stdout}"
        assert re.search(r"\bok (read|exact|labels)", row.group(0)), row.group(0)
    assert "expected of the subset" in result.stdout
