"""Event files: JSON Lines, plain or gzip, read as raw bytes one line at a time.

Called by the replay loop (``runner``) and by the progress bar's line count.
A file is gzip when it starts with the gzip magic bytes, whatever its name; a
name ending in ``.gz`` that is not gzip is an error. Lines are yielded without
their line ending (``\\n`` or ``\\r\\n``) and otherwise byte for byte, so a
malformed line reaches Kafka exactly as written; blank lines (only whitespace)
are skipped. Line numbers count every physical line from 1, blank ones too,
so they match an editor's.

Failure: a file that cannot be opened or whose gzip stream is damaged raises
``ReplayFileError`` naming the file and the last good line; what was already
yielded stays yielded.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

from streams.devtools.replay.exceptions import ReplayFileError

__all__ = ["GZIP_MAGIC", "check_file", "count_lines", "is_gzip", "read_lines"]

GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of every gzip stream."""


def is_gzip(path: Path) -> bool:
    """True when ``path`` starts with the gzip magic bytes; raises ``ReplayFileError``."""
    try:
        with path.open("rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError as err:
        raise ReplayFileError(
            f"cannot read {path}: {err.strerror or err}",
            hint="Pass existing .jsonl or .jsonl.gz files.",
        ) from err


def check_file(path: Path) -> bool:
    """Whether ``path`` is gzip; raises ``ReplayFileError`` if it cannot be read or is
    named ``.gz`` without being gzip. Called for every file before anything is sent."""
    gz = is_gzip(path)
    if path.suffix == ".gz" and not gz:
        raise ReplayFileError(
            f"{path} is named .gz but is not gzip-compressed",
            hint="Rename it to .jsonl, or compress it with gzip.",
        )
    return gz


def _open(path: Path) -> io.BufferedIOBase:
    if check_file(path):
        return gzip.open(path, "rb")
    return path.open("rb")


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Each non-blank line of ``path`` as (line number, bytes without line ending)."""
    fh = _open(path)
    number = 0
    try:
        with fh:
            for number, raw in enumerate(fh, 1):
                line = raw.rstrip(b"\r\n")
                if line and not line.isspace():
                    yield number, line
    except (OSError, EOFError, zlib.error) as err:
        raise ReplayFileError(
            f"{path} is damaged after line {number}: {err}",
            hint="Check the file (e.g. `gzip -t`); a truncated download is the usual cause.",
        ) from err


def count_lines(path: Path) -> int:
    """How many lines ``read_lines`` will yield; reads (and decompresses) the whole file."""
    return sum(1 for _ in read_lines(path))
