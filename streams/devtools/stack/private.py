"""Files only this user may read: the local stack's passwords and keys.

Called by ``streams.devtools.stack.kafka_secrets`` (the secure broker's CA, certificates
and SCRAM passwords) and ``streams.devtools.stack.clickhouse`` (its users' passwords).
Folders are made 0700 and files 0600 from the start (never world-readable for
an instant); a password is made once and kept.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["ensure_password", "private_dir", "private_file"]


def private_dir(path: Path) -> Path:
    """``path`` as a folder of mode 0700 (made with its parents when missing)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def ensure_password(path: Path) -> str:
    """The password in ``path``, made (random, URL-safe) on first use."""
    if not path.is_file():
        private_dir(path.parent)
        private_file(path, secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip()
