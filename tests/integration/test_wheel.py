"""The wheel works outside a checkout: built, installed into a fresh virtualenv, run elsewhere.

How it gets there without a network. The wheel is built from a copy of what
the Dockerfile copies too (pyproject.toml, README.md and the four packages;
the copy keeps ``build/`` and ``*.egg-info`` out of the checkout), with the
build backend already in ``.venv`` (``--no-build-isolation``, setuptools is
pinned in the dev extra). It is installed with ``--no-deps --no-index`` into a
new, empty virtualenv in a temporary folder. The dependencies (faust,
pydantic, clickhouse-driver, ...) are not downloaded again: a ``.pth`` file
appends the project ``.venv``'s site-packages *after* the new one's, so they
come from there while ``streams``, ``rules``, ``schemas``, ``sinks``, their
package data and the ``controlfeed`` script come from the wheel (asserted:
``streams.__file__`` lies in the new virtualenv). A ``.pth`` line adds a plain
folder, so the ``.pth`` files inside it, the editable install's finder among
them, are not run. Every command runs from a folder outside the checkout with
a home and ``XDG_DATA_HOME`` of the test's own.

What this does not prove: that pyproject's dependency ranges resolve on a
package index (that needs the network).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.settings import PROJECT_ROOT, Settings
from tests.integration.helpers import free_port, worker_env

COPIED = ("pyproject.toml", "README.md", "streams", "schemas", "sinks", "rules")
VERSION = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]


@dataclass(frozen=True)
class Installed:
    """The wheel installed in a virtualenv of its own, and where to run it from."""

    venv: Path
    home: Path
    cwd: Path

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a user of the installed package: none of ours, no PYTHON*."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("CONTROLFEED_", "PYTHON"))}
        home = {"HOME": str(self.home), "XDG_DATA_HOME": str(self.home / "xdg"), "COLUMNS": "200"}
        return {**base, **home, **(extra or {})}

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``controlfeed ARGS`` from the virtualenv's bin, in ``cwd``."""
        return subprocess.run(
            [str(self.venv / "bin" / "controlfeed"), *args], cwd=self.cwd, env=self.env(env),
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip


def _build(folder: Path) -> Path:
    source, dist = folder / "src", folder / "dist"
    for name in COPIED:
        origin = PROJECT_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(origin, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-index",
         "--no-build-isolation", "--quiet", "-w", str(dist)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    [wheel] = dist.glob("controlfeed-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel of this tree, installed into a fresh virtualenv outside the checkout."""
    folder = tmp_path_factory.mktemp("wheel")
    wheel = _build(folder)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "controlfeed-test-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    (folder / "home").mkdir()
    (folder / "elsewhere").mkdir()
    return Installed(venv, folder / "home", folder / "elsewhere")


def test_version_comes_from_the_package_metadata(installed: Installed) -> None:
    result = installed.run("--version")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"controlfeed, version {VERSION}"


def test_the_package_is_the_wheel_and_its_data_dir_is_the_users(installed: Installed) -> None:
    code = (
        "import streams; from streams.settings import CHECKOUT, Settings; "
        "print(streams.__file__); print(CHECKOUT); print(Settings().data_dir)"
    )
    result = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", code], cwd=installed.cwd,
        env=installed.env(), capture_output=True, text=True, check=False,
    )  # fmt: skip

    module, checkout, data_dir = result.stdout.split()
    assert Path(module).is_relative_to(installed.venv), result.stderr
    assert checkout == "None"
    assert Path(data_dir) == installed.home / "xdg" / "controlfeed"


def test_generate_and_validate_run_from_the_wheel(installed: Installed) -> None:
    made = installed.run("generate", "s.jsonl", "--duration", "1h", "--rate", "1", "--no-progress")
    checked = installed.run("validate", "s.jsonl", "--json")

    assert made.returncode == 0, made.stderr
    assert (installed.cwd / "s.labels.json").is_file()
    report = json.loads(checked.stdout)
    assert report["valid"] > 1000 and report["records"] == report["valid"] + report["bad"]
    assert "Traceback" not in made.stderr + checked.stderr


def test_every_command_helps_from_the_wheel(installed: Installed) -> None:
    for command in ("worker", "replay", "alerts", "console", "query", "status"):
        result = installed.run(command, "--help")

        assert result.returncode == 0, result.stderr
        assert "Usage: controlfeed" in result.stdout
        assert "Traceback" not in result.stderr


def test_the_local_stack_says_it_needs_a_checkout(installed: Installed) -> None:
    result = installed.run("stack", "status")

    assert result.returncode == 2
    assert "the local stack is a development tool" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


@pytest.fixture
def worker_from_the_wheel(
    installed: Installed, worker_settings: Settings, ch_database: str, tmp_path: Path
) -> Iterator[tuple[dict[str, str], int]]:
    """``controlfeed worker`` of the wheel on the test's topics, storing into its database;
    yields its environment and metrics port once it is ready."""
    port = free_port()
    env = {k: v for k, v in worker_env(worker_settings).items() if k.startswith("CONTROLFEED_")}
    url = f"clickhouse://127.0.0.1:{worker_settings.clickhouse_tcp_port}/{ch_database}"
    env |= {"CONTROLFEED_METRICS_PORT": str(port), "CONTROLFEED_CLICKHOUSE_URL": url}
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(installed.venv / "bin" / "controlfeed"), "worker", "--demo-key"],
            cwd=installed.cwd, env=installed.env(env), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while b"Ready" not in log.read_bytes():
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield env, port
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert "Traceback" not in log.read_text()


def test_the_worker_replay_status_and_query_run_from_the_wheel(
    installed: Installed, worker_from_the_wheel: tuple[dict[str, str], int]
) -> None:
    env, port = worker_from_the_wheel
    sample = PROJECT_ROOT / "data" / "sample" / "scenario.jsonl"

    replay = installed.run("replay", str(sample), "--no-progress", "--json", env=env)
    tables = installed.run("query", "SHOW TABLES", "--format", "csv", env=env)
    deadline, counted = time.monotonic() + 30, 0
    while counted == 0 and time.monotonic() < deadline:
        status = installed.run("status", "--url", f"127.0.0.1:{port}", "--json", env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        counted = sum(feed["total"] for feed in json.loads(status.stdout)["feeds"])

    summary = json.loads(replay.stdout)
    assert summary["ok"] and summary["delivered"] == summary["lines"] > 3000
    assert "alerts" in tables.stdout.split() and "venue_scans" in tables.stdout.split()
    assert counted > 0
