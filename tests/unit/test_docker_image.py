"""docker/worker/Dockerfile and .dockerignore: the image has what it runs, and runs as no root.

Read, not built: no Docker daemon runs here. ``_ignored`` applies the
.dockerignore rules the way Docker does for these simple patterns (the last
matching line wins, ``!`` takes a path back in, a folder's rule covers what is
inside it).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib

import pytest

from streams.settings import PROJECT_ROOT, Settings

DOCKERFILE = PROJECT_ROOT / "docker" / "worker" / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"


def _rules() -> list[tuple[bool, str]]:
    """(excludes, pattern) of each .dockerignore line."""
    lines = [x.strip() for x in DOCKERIGNORE.read_text().splitlines()]
    return [(not x.startswith("!"), x.lstrip("!").rstrip("/")) for x in lines
            if x and not x.startswith("#")]  # fmt: skip


def _ignored(path: str) -> bool:
    """Whether the build context leaves ``path`` (relative, with ``/``) out."""
    ignored = False
    parts = path.split("/")
    for excludes, pattern in _rules():
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(p, pattern[3:]) for p in parts)
        else:
            hit = any(fnmatch.fnmatch(p, pattern) for p in prefixes)
        if hit:
            ignored = excludes
    return ignored


def _copied() -> list[str]:
    """The sources of every COPY of the Dockerfile."""
    return [s for line in DOCKERFILE.read_text().splitlines() if line.startswith("COPY ")
            for s in line.split()[1:-1]]  # fmt: skip


def test_the_image_runs_the_controlfeed_command(defaults: Settings) -> None:
    dockerfile = DOCKERFILE.read_text()

    assert 'controlfeed = "streams.cli:main"' in (PROJECT_ROOT / "pyproject.toml").read_text()
    assert f"EXPOSE {defaults.metrics_port} {defaults.console_port}" in dockerfile
    assert 'CMD ["controlfeed", "worker"]' in dockerfile


def test_the_image_copies_every_package_the_project_ships() -> None:
    dockerfile = DOCKERFILE.read_text()
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]

    assert packages
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, f"the image lacks {package}/"


def test_the_image_runs_as_a_user_that_owns_its_data_dir() -> None:
    dockerfile = DOCKERFILE.read_text()
    [user] = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    [data_dir] = re.findall(r"CONTROLFEED_DATA_DIR=(\S+)", dockerfile)

    assert user.split(":")[0] not in {"root", "0"}
    assert f"--uid {user.split(':')[0]}" in dockerfile
    assert re.search(rf"install -d -o controlfeed -g controlfeed -m 0700 {data_dir}\b", dockerfile)


def test_the_build_context_has_everything_the_dockerfile_copies() -> None:
    copied = _copied()

    assert copied
    for source in copied:
        root = PROJECT_ROOT / source
        assert root.exists(), source
        assert not _ignored(source), f".dockerignore leaves out {source}"
        for path in root.rglob("*.py") if root.is_dir() else []:
            rel = path.relative_to(PROJECT_ROOT).as_posix()
            assert not _ignored(rel), f".dockerignore leaves out {rel}"


@pytest.mark.parametrize(
    "path",
    [".venv/bin/python", ".stack/kafka/data", ".git/HEAD", "tests/unit/test_compose.py",
     "data/sample/scenario.jsonl", "docker/secrets/pseudonym_key", "docker/.env",
     "streams/__pycache__/cli.cpython-311.pyc", ".mypy_cache/x", "controlfeed.egg-info/PKG-INFO"],
)  # fmt: skip
def test_the_build_context_leaves_out(path: str) -> None:
    assert _ignored(path)
