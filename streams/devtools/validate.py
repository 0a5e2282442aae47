"""``controlfeed validate FILE...``: check event files against the input contract.

Called from the command line (registered in ``streams.cli``) before a replay
or a load test, and by producers' developers checking their output. Every
non-blank line of a JSON Lines file (``.jsonl``, or gzip-compressed
``.jsonl.gz``) goes through ``schemas.decode``, exactly as the worker decodes a
Kafka record, so a line this command accepts is one the worker accepts. ``-``
reads standard input (gzip-compressed or not: its first two bytes say).

Exit statuses: 0 every line is valid (or ``--report-only``); 1 some line is
bad input; 2 a file cannot be read (missing, a directory, not gzip), reported
as a ``ControlfeedError`` with a hint. Printed excerpts of bad lines are
redacted: raw ID and phone numbers never reach the terminal.
"""

from __future__ import annotations

import gzip
import io
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from rich.console import Console
from rich.progress import Progress, TaskID

from schemas import FEEDS, Rejected, decode, redact
from streams.exceptions import ControlfeedError
from streams.progress import progress_bar

__all__ = ["BadLine", "Report", "validate_files"]

_GZIP_MAGIC: Final = b"\x1f\x8b"
_TICK: Final = 4096
"""Lines between progress updates: often enough for the eye, rarely enough to cost nothing."""
_EXCERPT: Final = 160
"""Characters of a bad line shown in reports."""
_FORMATS_HINT: Final = "validate reads JSON Lines files: .jsonl, or .jsonl.gz compressed with gzip."
STDIN: Final = Path("-")
"""The file name that means standard input."""


@dataclass(frozen=True, slots=True)
class BadLine:
    """One rejected line, as the report shows it."""

    file: str
    """The file, as named on the command line."""
    line: int
    """1-based line number in the (decompressed) file; blank lines count."""
    reason: str
    """The reason code of ``docs/bad-input.md``."""
    feed: str | None
    """The line's feed, when it could be read."""
    detail: str
    """Why, in words."""
    excerpt: str
    """The start of the line, ID and phone numbers masked."""


@dataclass(slots=True)
class Report:
    """Counts over all files, and the first bad lines. Filled by ``validate_files``."""

    files: list[str]
    """The files read, in order."""
    keep_bad: int = 20
    """How many bad lines to keep for display."""
    blank: int = 0
    """Blank lines, skipped."""
    valid: Counter[str] = field(default_factory=Counter)
    """Valid events per feed."""
    bad_by_feed: Counter[str | None] = field(default_factory=Counter)
    """Bad lines per feed (None: the feed could not be read)."""
    reasons: Counter[str] = field(default_factory=Counter)
    """Bad lines per reason code."""
    bad_lines: list[BadLine] = field(default_factory=list)
    """The first ``keep_bad`` bad lines."""
    seconds: float = 0.0
    """Wall time spent reading and decoding."""

    @property
    def bad(self) -> int:
        """Bad lines in all files."""
        return sum(self.reasons.values())

    @property
    def records(self) -> int:
        """Non-blank lines in all files."""
        return sum(self.valid.values()) + self.bad

    def add(self, file: str, number: int, line: bytes) -> None:
        """Decode one line and count it; called for every line of every file."""
        if not line or line.isspace():
            self.blank += 1
            return
        result = decode(line)
        if not isinstance(result, Rejected):
            self.valid[result.feed] += 1
            return
        self.reasons[result.reason] += 1
        self.bad_by_feed[result.feed] += 1
        if len(self.bad_lines) < self.keep_bad:
            excerpt = redact(line.rstrip(b"\r\n")[: _EXCERPT * 4]).decode("utf-8", "replace")
            self.bad_lines.append(
                BadLine(file, number, result.reason, result.feed, result.detail, excerpt[:_EXCERPT])
            )

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report printed by ``--json``."""
        return {
            "files": self.files,
            "records": self.records,
            "valid": sum(self.valid.values()),
            "bad": self.bad,
            "blank": self.blank,
            "feeds": {f: {"valid": self.valid[f], "bad": self.bad_by_feed[f]} for f in FEEDS},
            "bad_without_feed": self.bad_by_feed[None],
            "reasons": dict(self.reasons.most_common()),
            "bad_lines": [
                {k: getattr(b, k) for k in BadLine.__dataclass_fields__} for b in self.bad_lines
            ],
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records / self.seconds) if self.seconds else None,
        }


def _unreadable(path: Path, err: BaseException) -> ControlfeedError:
    if isinstance(err, FileNotFoundError):
        return ControlfeedError(f"{path}: no such file", hint=f"Check the path. {_FORMATS_HINT}")
    if isinstance(err, IsADirectoryError):
        return ControlfeedError(
            f"{path} is a directory", hint="Name the event files, e.g. data/*.jsonl.gz."
        )
    if isinstance(err, PermissionError):
        return ControlfeedError(f"{path}: permission denied", hint="Make the file readable.")
    if path.suffix == ".gz" and isinstance(err, OSError | EOFError | zlib.error):
        return ControlfeedError(
            f"{path} is not a valid gzip file ({err})",
            hint="Only .gz files are decompressed: name a plain file .jsonl, "
            "or re-create the archive with gzip.",
        )
    return ControlfeedError(f"cannot read {path}: {err}", hint=_FORMATS_HINT)


def _check_readable(path: Path) -> None:
    """Fail before any work when a file is missing, unreadable or a .gz is not gzip."""
    if path == STDIN:
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
    except OSError as err:
        raise _unreadable(path, err) from err
    if path.suffix == ".gz" and head != _GZIP_MAGIC:
        raise _unreadable(path, OSError("no gzip header"))


@contextmanager
def _open_lines(path: Path) -> Iterator[tuple[Iterable[bytes], IO[bytes] | None]]:
    """(the lines to read, the file on disk whose position tracks progress: None for
    standard input, whose size is unknown)."""
    if path == STDIN:
        stdin = sys.stdin.buffer
        # A pipe, a file or a terminal is a BufferedReader, which can peek.
        if isinstance(stdin, io.BufferedReader) and stdin.peek(2)[:2] == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=stdin, mode="rb") as unzipped:
                yield unzipped, None
        else:
            yield stdin, None
        return
    with path.open("rb") as disk:
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=disk, mode="rb") as unzipped:
                yield unzipped, disk
        else:
            yield disk, disk


def _scan_file(path: Path, report: Report, progress: Progress) -> None:
    """Count every line of one file; the progress total is estimated from bytes read."""
    size = 1 if path == STDIN else max(path.stat().st_size, 1)
    task = progress.add_task(path.name or "stdin", total=None)
    number = 0
    try:
        with _open_lines(path) as (lines, disk):
            for number, line in enumerate(lines, start=1):
                report.add(str(path), number, line)
                if number % _TICK == 0:
                    position = disk.tell() if disk is not None else size
                    _tick(progress, task, number, position, size)
    except (OSError, EOFError, zlib.error) as err:
        raise _unreadable(path, err) from err
    _set_total(progress, task, number)
    progress.update(task, completed=number)


def _tick(progress: Progress, task: TaskID, lines: int, position: int, size: int) -> None:
    """Lines done so far, and the total estimated from the share of the file read."""
    _set_total(progress, task, max(lines * size / max(position, 1), lines))
    progress.update(task, completed=lines)


def _set_total(progress: Progress, task_id: TaskID, total: float) -> None:
    # Not ``progress.update(total=...)``: a new total resets rich's speed samples,
    # and the estimate changes at every tick, so the rate would never show.
    for task in progress.tasks:
        if task.id == task_id:
            task.total = total


def validate_files(
    paths: Sequence[Path], *, keep_bad: int = 20, console: Console | None = None
) -> Report:
    """Decode every line of ``paths``; the counts and the first ``keep_bad`` bad lines.

    Called by the ``validate`` command and usable from tests and scripts. Raises
    ``ControlfeedError`` when a file cannot be read, before any other file is
    read when the problem shows at opening. The progress bar goes to
    ``console`` (stderr by default) and is drawn only on a terminal.
    """
    for path in paths:
        _check_readable(path)
    report = Report(files=[str(p) for p in paths], keep_bad=keep_bad)
    start = time.perf_counter()
    with progress_bar(console or Console(stderr=True), unit="lines") as progress:
        for path in paths:
            _scan_file(path, report, progress)
    report.seconds = time.perf_counter() - start
    return report
