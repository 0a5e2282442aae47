"""Finding the programs the local stack runs, with a clear word when one is missing.

Called by the services' ``check_tools``. ``make setup`` (run by both README
commands) installs all of them; these messages are for someone who runs the
CLI on a machine that skipped it. ``checkout_file`` is the same for the files
of a source checkout the stack reads (``docker/``), which an installed wheel
does not have: the local stack is a development tool.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from streams.exceptions import MissingToolError, StackError
from streams.settings import CHECKOUT, PROJECT_ROOT

__all__ = ["checkout_file", "find_program", "java_major_version", "require_java"]

_SETUP_HINT = "Run `make setup` from the project root (it installs everything), or: "


def find_program(name: str, package: str, extra_dirs: tuple[str, ...] = ("/usr/sbin",)) -> Path:
    """The path of ``name`` on PATH or in ``extra_dirs``; ``MissingToolError`` names the package."""
    found = shutil.which(name)
    if found:
        return Path(found)
    for folder in extra_dirs:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    raise MissingToolError(
        f"`{name}` is not installed (Debian package {package}).",
        hint=_SETUP_HINT + f"`sudo apt-get install --no-install-recommends {package}`.",
    )


def checkout_file(path: Path) -> Path:
    """``path`` when it exists; ``StackError`` saying the local stack needs a checkout when
    this controlfeed runs from an installed package (or the checkout lost the file).

    Called before the stack reads ``docker/kafka/pom.xml`` or ``docker/prometheus/``.
    """
    if path.is_file():
        return path
    if CHECKOUT is None:
        raise StackError(
            "the local stack is a development tool: it runs from a checkout of controlfeed, "
            f"and this one is installed as a package ({PROJECT_ROOT})",
            hint="Clone the repository and run `make setup` there to use `controlfeed "
            "stack` and `controlfeed demo`; an installed controlfeed uses your own services "
            "(CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS, CONTROLFEED_CLICKHOUSE_URL).",
        )
    raise StackError(f"{path} is missing from the checkout", hint="Restore it with git.")


def java_major_version(java: Path) -> int:
    """The major version ``java -version`` reports (17 for "17.0.15"); 0 when unreadable."""
    out = subprocess.run(
        [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return 0
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java(minimum: int = 17) -> Path:
    """The ``java`` to run Kafka with; Kafka 4 brokers need Java 17 or newer."""
    java = find_program("java", "openjdk-17-jre-headless", extra_dirs=())
    version = java_major_version(java)
    if version < minimum:
        raise MissingToolError(
            f"Kafka needs Java {minimum} or newer; `{java}` is Java {version or '(unknown)'}.",
            hint=_SETUP_HINT
            + "`sudo apt-get install openjdk-17-jre-headless` and put it first on PATH.",
        )
    return java
