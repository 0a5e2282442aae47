"""``SinkFlow``: when the sink flushes, which offsets it may commit, how long it backs off.

The decisions of the worker's storage stage (``streams.sink.service.SinkService``),
kept apart from its Kafka consumer, its store connections and its metrics so
they can be tested by calling them: no Kafka, no ClickHouse, no clock (every
decision that depends on time is given ``now``, a monotonic reading), no
threads. The service tells the flow what happened and does what it says:

- records were read (``read``), with the offset after each partition's last
  and how many rows went into the batch; a flush is then ``due`` at
  ``batch_rows`` rows or ``batch_seconds`` after the first read, and the
  service ``take`` s the batch as one ``Flight`` (with a ``Cut`` of the
  offsets read so far, ``streams.kafka.commits``);
- flights are ``start`` ed, oldest first, while fewer than ``writers`` run and
  no backoff is waited out; ``busy`` says every writer is taken;
- an attempt ``ended``: the chunks it stored are forgotten; a failure makes the
  next attempt wait (``Backoff``: 0.5 s doubling to ``retry_max_seconds``), a
  success ends the wait and says whether to resume reading;
- ``release`` gives the offsets that may be committed: those of every flight,
  oldest first, up to the first not stored yet (so never ahead of the rows);
- ``pause`` says when to stop reading: once ``batch_rows`` rows wait during a
  backoff (the sink never buffers much more than a batch per writer);
- on a rebalance or a stop the service drains (``start_now``: every waiting
  flight once more, backoff or not), then ``drop`` s what could not be stored
  and ``reset`` s the offsets: they are read again from the committed ones.

Never raises for data; a call out of order (``ended`` for a flight that is not
running) is a bug and fails its assertion.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from streams.kafka.commits import Cut, OffsetLedger, Partition
from streams.sink.backoff import Backoff

__all__ = ["Chunk", "Ended", "Flight", "SinkFlow"]


@dataclass(slots=True)
class Chunk:
    """Rows of one table taken from the batch and not stored yet (the flow never reads them)."""

    table: str
    columns: list[list[Any]]
    """One list per column, as ``sinks.Block.tables`` holds them."""
    rows: int


@dataclass(eq=False, slots=True)
class Flight:
    """One flush: rows taken together, and the cut of offsets they complete."""

    chunks: list[Chunk]
    """The chunks not stored yet, in insert order (stored ones are removed)."""
    cut: Cut
    """Committable once this flight and every earlier one are stored."""
    running: bool = False
    """Whether an attempt to store it is under way."""

    @property
    def rows(self) -> int:
        """Rows not stored yet."""
        return sum(chunk.rows for chunk in self.chunks)


@dataclass(frozen=True, slots=True)
class Ended:
    """What the service does after an attempt (``SinkFlow.ended``)."""

    retry_in: float | None = None
    """After a failure: seconds until the next attempt may start."""
    failures: int = 0
    """After a success: the failed attempts before it (0: nothing to report)."""
    resume: bool = False
    """After a success: reading was paused and resumes now."""


class SinkFlow:
    """The sink's batch, flights, offsets and backoff; see the module docstring."""

    def __init__(
        self, *, batch_rows: int, batch_seconds: float, retry_max_seconds: float, writers: int = 1
    ) -> None:
        if batch_rows < 1 or batch_seconds <= 0 or writers < 1:
            raise ValueError("a sink flow needs batch_rows >= 1, batch_seconds > 0, writers >= 1")
        self._batch_rows = batch_rows
        self._batch_seconds = batch_seconds
        self.writers = writers
        """Flights stored at once: the service sets it once its connections are open."""
        self._backoff = Backoff(cap=retry_max_seconds)
        self._ledger = OffsetLedger()
        self._flights: deque[Flight] = deque()
        self._batched = 0
        self._read_since: float | None = None
        self._retry_at = 0.0
        self.paused = False
        """Whether reading is paused because rows cannot be stored (``pause``)."""

    # ------------------------------------------------------------- what it holds

    @property
    def pending_rows(self) -> int:
        """Rows read and not stored yet: the batch's and the flights'."""
        return self._batched + sum(flight.rows for flight in self._flights)

    @property
    def flights(self) -> int:
        """Flights taken and not yet released (running, waiting for a retry, or stored
        behind one that is not)."""
        return len(self._flights)

    @property
    def unflushed(self) -> bool:
        """Whether rows or offsets were read since the last ``take``."""
        return bool(self._batched) or self._ledger.pending

    @property
    def running(self) -> list[Flight]:
        """The flights being stored, oldest first."""
        return [flight for flight in self._flights if flight.running]

    @property
    def busy(self) -> bool:
        """Whether every writer is storing a flight (a new one would wait)."""
        return len(self.running) >= self.writers

    # ------------------------------------------------------------- reading

    def read(self, now: float, offsets: Mapping[Partition, int], rows: int) -> None:
        """Records were handled at ``now``: per partition the offset after the last,
        and ``rows`` rows went into the batch (records without a row count too)."""
        for partition, next_offset in offsets.items():
            self._ledger.read(partition, next_offset)
        self._batched += rows
        if self._read_since is None:
            self._read_since = now

    def due(self, now: float) -> bool:
        """Whether to take a flight now: ``batch_rows`` rows in the batch, or
        ``batch_seconds`` since the first record read into it; never during a backoff
        (the rows keep gathering)."""
        since = self._read_since
        if since is None or now < self._retry_at:
            return False
        return self._batched >= self._batch_rows or now - since >= self._batch_seconds

    def take(self, chunks: list[Chunk]) -> Flight:
        """The batch (``chunks``, possibly none: offsets only) becomes the newest flight,
        with every offset read so far; the batch starts empty."""
        flight = Flight(chunks, self._ledger.cut())
        self._flights.append(flight)
        self._batched = 0
        self._read_since = None
        return flight

    # ------------------------------------------------------------- storing

    def start(self, now: float) -> list[Flight]:
        """The flights to store now, oldest first, as many as writers are free; none while
        a backoff runs. They count as running until ``ended``."""
        return [] if now < self._retry_at else self._start()

    def start_now(self, skip: Collection[Flight] = ()) -> list[Flight]:
        """Like ``start`` but backoff or not, and not the flights in ``skip``: a drain
        (rebalance, stop) tries each waiting flight once more."""
        return self._start(skip)

    def _start(self, skip: Collection[Flight] = ()) -> list[Flight]:
        free = self.writers - len(self.running)
        started: list[Flight] = []
        for flight in self._flights:
            if len(started) >= free:
                break
            if not flight.running and flight.chunks and flight not in skip:
                flight.running = True
                started.append(flight)
        return started

    def ended(self, flight: Flight, stored: int, *, failed: bool, now: float) -> Ended:
        """An attempt at ``flight`` stored its first ``stored`` chunks, then ``failed``
        (the rest stay for a retry after the backoff) or not (the flight is stored)."""
        assert flight.running and flight in self._flights, "ended: the flight is not running"
        flight.running = False
        del flight.chunks[:stored]
        if failed:
            delay = self._backoff.next()
            self._retry_at = now + delay
            return Ended(retry_in=delay)
        failures = self._backoff.failures
        self._backoff.reset()
        self._retry_at = 0.0
        resume, self.paused = self.paused, False
        return Ended(failures=failures, resume=resume)

    def release(self) -> dict[Partition, int]:
        """The offsets that may be committed now (often none): those of the stored flights
        at the head, oldest first, a later flight's offset for a partition winning."""
        released: dict[Partition, int] = {}
        flights = self._flights
        while flights and not flights[0].chunks and not flights[0].running:
            released.update(self._ledger.durable(flights.popleft().cut))
        return released

    def pause(self, now: float) -> bool:
        """Whether to pause reading now (true once; ``ended`` says when to resume): a
        batch's worth of rows waits while a backoff runs."""
        if self.paused or self._retry_at <= now or self.pending_rows < self._batch_rows:
            return False
        self.paused = True
        return True

    # ------------------------------------------------------------- rebalance

    def drop(self) -> int:
        """Forget the rows waiting, in the batch and in every flight; how many there were.
        The caller empties its batch too; attempts still running are ignored."""
        dropped = self.pending_rows
        self._flights.clear()
        self._batched = 0
        return dropped

    def reset(self) -> None:
        """Forget every offset read (the partitions go; whoever gets them reads again from
        the committed offsets) and start the next assignment unpaused."""
        self._ledger.reset()
        self._read_since = None
        self.paused = False
