"""The package: its version from the metadata, dev tools pinned exactly, setup reinstalls
when pyproject.toml changes."""

from __future__ import annotations

import re
import tomllib

import pytest

from streams.cli import main
from streams.settings import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_dev_tool_is_pinned_to_one_version() -> None:
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    tools = [r for r in dev if not r.startswith("controlfeed[")]

    loose = [r for r in tools if not re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", r)]
    assert tools and loose == []


def test_setup_reinstalls_when_pyproject_changes() -> None:
    setup = (PROJECT_ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")

    assert "want=$(sha256sum pyproject.toml" in setup
    assert "pip install -q -e '.[dev]'" in setup


def test_version_is_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--version"])

    assert capsys.readouterr().out == f"controlfeed, version {PYPROJECT['project']['version']}\n"
