"""The worker's name in its group: stable across restarts, unique among running workers.

Called once by ``controlfeed worker`` at start. The name goes into the
stages' transactional ids (``<group>-ingest-<name>``, ``<group>-engine-<name>``):
a worker restarted under the same name fences its killed predecessor and
aborts the transactions it left open at once, while two running workers
under one name would fence each other. So:

- ``CONTROLFEED_WORKER_ID`` when set (e.g. a pod's stable name);
- otherwise ``<hostname>-<n>``, ``n`` the lowest number that no other running
  worker of the same group on this host holds: each worker locks
  ``<tmp>/controlfeed-<uid>/<group>.<n>.lock`` (``flock``) for as long as it
  runs, and the kernel releases the lock when the process dies, however it
  dies, so a worker restarted after a kill gets its old name back.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import IO, Final

from streams.exceptions import ControlfeedError

__all__ = ["MAX_SLOTS", "WorkerId", "claim_worker_id"]

MAX_SLOTS: Final = 256
"""Workers of one group on one host."""
_NAME: Final = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


class WorkerId:
    """A claimed name; keep it (and so its lock) for the life of the process."""

    def __init__(self, name: str, lock: IO[bytes] | None) -> None:
        self.name = name
        """The worker's name."""
        self._lock = lock

    def release(self) -> None:
        """Give the name back (the process is stopping)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def claim_worker_id(configured: str, group: str, folder: Path | None = None) -> WorkerId:
    """The configured name, else the lowest free ``<hostname>-<n>`` of ``group`` on this host.

    Raises ``ControlfeedError`` for a configured name with other characters than
    letters, digits, ``.``, ``_`` and ``-``, or when every slot is taken.
    """
    if configured:
        if not _NAME.match(configured):
            raise ControlfeedError(
                f"CONTROLFEED_WORKER_ID={configured!r} is not a usable worker name",
                hint="Use 1 to 100 letters, digits, '.', '_' or '-'.",
            )
        return WorkerId(configured, None)
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:60] or "worker"
    folder = folder or Path(tempfile.gettempdir()) / f"controlfeed-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    safe_group = re.sub(r"[^A-Za-z0-9._-]", "_", group)
    for n in range(MAX_SLOTS):
        lock = (folder / f"{safe_group}.{n}.lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return WorkerId(f"{host}-{n}", lock)
    raise ControlfeedError(
        f"{MAX_SLOTS} workers of group {group} already run on this host",
        hint="Stop some, or give each a name with CONTROLFEED_WORKER_ID.",
    )
