"""docker/compose.yaml through a real validator: Debian's docker-compose (1.29).

``docker-compose config -q`` loads the file as Compose does before it starts
anything: the schema (keys, types, ``depends_on`` conditions), interpolation of
variables, references to services and volumes. It needs no
Docker daemon (scripts/setup.sh installs the package). It predates the
top-level ``name:``, which the file therefore leaves to ``docker/.env``. Each
check also runs on a broken copy, so a validator that accepts anything fails
here; references to undeclared secrets, which 1.29 does not check, are
``tests/unit/test_compose.py``'s.

The secrets generator runs too, in a copy of docker/: what it writes must be
every file the compose secrets name, and a ``docker/.env`` naming the project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.settings import PROJECT_ROOT

DOCKER = PROJECT_ROOT / "docker"


def _compose(
    folder: Path, file: str = "compose.yaml", **env: str
) -> subprocess.CompletedProcess[str]:
    """``docker-compose -f FOLDER/FILE config -q`` with only ``env`` and PATH/HOME."""
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is missing: run `make setup` (Debian's docker-compose)"
    clean = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    return subprocess.run(
        [binary, "-f", str(folder / file), "config", "-q"], capture_output=True, text=True,
        check=False, timeout=120, cwd=folder, env={**clean, **env},
    )  # fmt: skip


def _copy(tmp_path: Path) -> Path:
    """docker/ in a folder of its own (its generated secrets left behind)."""
    folder = tmp_path / "project" / "docker"
    shutil.copytree(DOCKER, folder, ignore=shutil.ignore_patterns(".env"))
    for path in (folder / "secrets").iterdir():
        if path.name not in {"generate.sh", "README.md"}:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return folder


def test_docker_compose_accepts_the_file() -> None:
    result = _compose(DOCKER)

    assert result.returncode == 0, result.stdout + result.stderr


def _unknown_key(compose: dict[str, Any]) -> None:
    compose["services"]["worker"]["portz"] = ["9308:9308"]


def _unknown_dependency(compose: dict[str, Any]) -> None:
    compose["services"]["worker"]["depends_on"]["kafka-setup"] = {"condition": "service_healthy"}


def _wrong_condition(compose: dict[str, Any]) -> None:
    compose["services"]["worker"]["depends_on"]["kafka-init"]["condition"] = "service_done"


@pytest.mark.parametrize("breaks", [_unknown_key, _unknown_dependency, _wrong_condition])
def test_docker_compose_refuses_a_broken_copy(
    tmp_path: Path, breaks: Callable[[dict[str, Any]], None]
) -> None:
    folder = _copy(tmp_path)
    compose = yaml.safe_load((folder / "compose.yaml").read_text())
    breaks(compose)
    (folder / "broken.yaml").write_text(yaml.safe_dump(compose, sort_keys=False))

    result = _compose(folder, "broken.yaml")

    assert result.returncode != 0, f"{breaks.__name__} was accepted"


def test_the_generated_secrets_make_the_file_complete(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    made = subprocess.run(
        ["bash", str(folder / "secrets" / "generate.sh")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    compose = yaml.safe_load((folder / "compose.yaml").read_text())

    missing = [s["file"] for s in compose["secrets"].values() if not (folder / s["file"]).is_file()]
    assert not missing, f"generate.sh did not make {missing}"
    assert (folder / "secrets").stat().st_mode & 0o077 == 0, "docker/secrets is open to others"
    env = (folder / ".env").read_text()
    assert "COMPOSE_PROJECT_NAME=controlfeed" in env
    result = _compose(folder)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_generated_certificates_name_their_hosts_and_chain_to_the_ca(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    subprocess.run(["bash", str(folder / "secrets" / "generate.sh")], capture_output=True,
                   check=True, timeout=120)  # fmt: skip
    secrets = folder / "secrets"

    for cert, host in [("kafka_broker.pem", "kafka"), ("console_tls.crt", "console"),
                       ("grafana_tls.crt", "grafana")]:  # fmt: skip
        names = subprocess.run(
            ["openssl", "x509", "-in", str(secrets / cert), "-noout", "-ext", "subjectAltName"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert f"DNS:{host}" in names and "DNS:localhost" in names, cert
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", str(secrets / "kafka_ca.crt"), str(secrets / cert)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert (secrets / "kafka_broker.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
