"""The replay loop: every non-blank line of the files, once per loop, as one record.

Called by ``controlfeed replay`` and the ingest benchmark with a router, a
sink and options; returns a ``ReplayReport`` and never prints. Guarantees:
each non-blank line read is handed to the sink exactly once per loop as one
record, raw, unless ``skip_invalid`` drops it (``schemas.decode`` rejects it);
the report counts a record as delivered only when the broker acknowledged it.

Loops (``--loop N``) send the same bytes again, event times unchanged: to the
pipeline, later loops are exact duplicates (same ``event_id``, same content),
which it must store and alert on once. That is what a load test wants to
exercise; pacing treats each loop as following the previous one in time.

Failure: at the first refused or timed-out record the loop stops reading,
waits for the records in flight, and returns with ``stopped_at`` set; a
damaged file or Ctrl-C stops it the same way (``error`` / ``interrupted``).
The caller decides the exit status from the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.devtools.replay.exceptions import ReplayError, ReplayFileError
from streams.devtools.replay.files import read_lines
from streams.devtools.replay.pacing import Clock, Pacer, RatePacer, SpeedPacer
from streams.devtools.replay.producer import DeliveryLedger, Location, RecordSink
from streams.devtools.replay.routing import Router, event_time

__all__ = ["ReplayOptions", "ReplayReport", "make_pacer", "run_replay"]

_PROGRESS_MASK = 1023  # report progress every 1024 lines
_FLUSH_MARGIN = 10.0

Validator = Callable[[bytes], bool]


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay; the defaults send once, as fast as possible, everything."""

    speed: float | None = None
    """Event time runs this many times faster than real time (1 = real time)."""
    rate: float | None = None
    """Records per second, whatever the event times (exclusive with ``speed``)."""
    loops: int = 1
    """Passes over the files."""
    skip_invalid: bool = False
    """Drop lines ``schemas.decode`` rejects instead of sending them raw."""
    delivery_timeout: float = 30.0
    """Seconds librdkafka keeps retrying a record before reporting it failed."""


@dataclass
class ReplayReport:
    """What a replay did; ``ok`` only when every record handed over was acknowledged."""

    files: Sequence[Path]
    """The input files, in the order given."""
    topics: list[str]
    """Every topic the replay could send to, in feed order."""
    ledger: DeliveryLedger
    """Sent / delivered / failed per topic, and the first failed lines."""
    lines: int = 0
    """Non-blank lines read, over all loops."""
    skipped_invalid: int = 0
    """Lines dropped by ``skip_invalid``."""
    bytes_sent: int = 0
    """Bytes of record values handed over."""
    elapsed: float = 0.0
    """Seconds from the first record to the last report."""
    stopped_at: tuple[int, Location] | None = None
    """(loop, location) where the replay stopped early: the first line not sent after a
    failed delivery, or the line being handled when Ctrl-C came."""
    error: ReplayError | None = None
    """The file error that stopped the replay, if one did."""
    interrupted: bool = False
    """True when Ctrl-C stopped the replay."""
    loops_done: int = field(default=0)
    """Loops finished."""

    def where(self, location: Location) -> str:
        """``path:line`` of a location."""
        return f"{self.files[location[0]]}:{location[1]}"

    def to_json(self) -> dict[str, Any]:
        """The summary as ``replay --json`` prints it: totals, per topic, what failed."""
        ledger = self.ledger
        per_topic = {
            topic: {
                "sent": ledger.sent[topic],
                "delivered": ledger.delivered[topic],
                "failed": ledger.failures[topic],
                "unconfirmed": ledger.unconfirmed(topic),
                "first_failed_lines": [self.where(w) for w in ledger.first_failures.get(topic, [])],
            }
            for topic in self.topics
        }
        delivered, seconds = sum(ledger.delivered.values()), max(self.elapsed, 1e-9)
        return {
            "ok": self.ok,
            "files": [str(path) for path in self.files],
            "lines": self.lines,
            "loops_done": self.loops_done,
            "skipped_invalid": self.skipped_invalid,
            "sent": sum(ledger.sent.values()),
            "delivered": delivered,
            "failed": sum(ledger.failures.values()),
            "seconds": round(self.elapsed, 3),
            "events_per_second": round(delivered / seconds),
            "bytes_sent": self.bytes_sent,
            "topics": per_topic,
            "first_error": ledger.first_error or None,
            "interrupted": self.interrupted,
            "not_sent_from": self.where(self.stopped_at[1]) if self.stopped_at else None,
        }

    @property
    def ok(self) -> bool:
        """Every line sent (or skipped as invalid) and every record acknowledged."""
        sent = sum(self.ledger.sent.values())
        return (
            self.stopped_at is None
            and self.error is None
            and not self.interrupted
            and sent == sum(self.ledger.delivered.values())
        )


def make_pacer(options: ReplayOptions, clock: Clock = time.monotonic) -> Pacer | None:
    """The pacer ``options`` ask for, or None for as fast as possible."""
    if options.speed is not None and options.rate is not None:
        raise ValueError("speed and rate exclude each other")
    if options.speed is not None:
        return SpeedPacer(options.speed, clock)
    if options.rate is not None:
        return RatePacer(options.rate, clock)
    return None


def _validator() -> Validator:
    """True for lines ``schemas.decode`` accepts; imported only for ``skip_invalid``."""
    try:
        from schemas import Rejected, decode
    except ImportError as err:
        raise ReplayError(
            f"--skip-invalid needs schemas.decode, which cannot be imported: {err}",
            hint="Replay without --skip-invalid (bad lines then go to the pipeline raw).",
        ) from err

    return lambda line: not isinstance(decode(line), Rejected)


def run_replay(
    files: Sequence[Path],
    router: Router,
    sink: RecordSink,
    options: ReplayOptions,
    on_progress: Callable[[int], None] | None = None,
    clock: Clock = time.monotonic,
) -> ReplayReport:
    """Send every non-blank line of ``files`` ``options.loops`` times; see the module doc."""
    report = ReplayReport(list(files), router.topics, sink.ledger)
    pacer = make_pacer(options, clock)
    valid = _validator() if options.skip_invalid else None
    started = clock()
    try:
        for loop in range(options.loops):
            if loop and pacer is not None:
                pacer.next_loop()
            if not _one_pass(report, loop, router, sink, pacer, valid, on_progress):
                break
            report.loops_done += 1
    except ReplayFileError as err:
        report.error = err
    except KeyboardInterrupt:
        report.interrupted = True
    sink.finish(options.delivery_timeout + _FLUSH_MARGIN)
    report.elapsed = clock() - started
    if on_progress is not None:
        on_progress(report.lines)
    if sink.ledger.failed_total:
        _locate_failures(report, router)
    return report


def _one_pass(
    report: ReplayReport,
    loop: int,
    router: Router,
    sink: RecordSink,
    pacer: Pacer | None,
    valid: Validator | None,
    on_progress: Callable[[int], None] | None,
) -> bool:
    """One pass over the files; False when a failed delivery stopped it.

    The hot loop of replay: names are bound to locals and the report's
    counters are updated once per file, not once per line.
    """
    route, send, ledger = router.route, sink.send, sink.ledger
    timed = pacer is not None and pacer.needs_event_time
    for index, path in enumerate(report.files):
        lines, skipped, size, number = report.lines, 0, 0, 0
        try:
            for number, line in read_lines(path):
                if ledger.failed_total:
                    report.stopped_at = (loop, (index, number))
                    return False
                lines += 1
                if valid is not None and not valid(line):
                    skipped += 1
                    continue
                topic, key = route(line)
                wait = pacer.delay(event_time(line) if timed else None) if pacer else 0.0
                if wait:
                    sink.wait(wait)
                send(topic, key, line)
                size += len(line)
                if on_progress is not None and (wait or not lines & _PROGRESS_MASK):
                    on_progress(lines)
        except KeyboardInterrupt:
            report.stopped_at = (loop, (index, number))
            raise
        finally:
            report.lines, report.bytes_sent = lines, report.bytes_sent + size
            report.skipped_invalid += skipped
    return True


def _locate_failures(report: ReplayReport, router: Router, keep: int = 10) -> None:
    """Fill ``ledger.first_failures``: per topic the first ``keep`` lines whose value failed.

    Reads the files once more, only after a failure; a line that occurs more
    than once is named where it first occurs.
    """
    ledger = report.ledger
    wanted, found = ledger.failed_values, ledger.first_failures
    try:
        for index, path in enumerate(report.files):
            for number, line in read_lines(path):
                if hash(line) in wanted:
                    spots = found.setdefault(router.route(line)[0], [])
                    if len(spots) < keep:
                        spots.append((index, number))
    except ReplayFileError:
        pass  # already reported as the replay's error; what was found is kept
