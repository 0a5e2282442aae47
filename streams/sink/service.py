"""``SinkService``: the worker's storage stage, from four Kafka topics into the store.

Run by the worker's runtime (``streams.worker.runtime``) on a thread of its
own when ``settings.sink_enabled``; a ``streams.kafka.Stage`` like the ingest
and engine stages. Its group is ``<worker_group>-sink``; it reads the engine
topic, the alerts topic, the dead-letter topic and the alert-state topic
(the console's actions) with read_committed
(``streams.sink.records`` says which records become which rows) into a
``sinks.Batcher``. ``docs/storage.md``, "The Kafka side", explains the
design; in short:

- **Offsets after the flush** (``streams.kafka.commits``, the pipeline's one
  commit policy). A flush (at ``sink_batch_rows`` rows or when the oldest row
  is ``sink_batch_seconds`` old) takes the batch with a cut of the offsets it
  completes; once it and every flush before it are stored, those offsets are
  committed. A crash re-reads what was not committed; the tables de-duplicate.
- **Flushes in flight.** On a ClickHouse server up to ``sink_writers``
  flushes (2) are stored at once, each on its own connection
  (``sinks.writer.BlockWriter``), while the stage reads the next batch; when
  the next one is due and all are busy, it waits for one to end. chDB stores
  one at a time. Measured in ``docs/benchmarks.md``, "Sink".
- **Outage.** A ``StoreUnavailableError`` (or a ``QueryError``) while storing
  is counted (``controlfeed_sink_errors_total``), logged, and retried after a
  backoff (0.5 s doubling to ``sink_retry_max_seconds``, 30 s) with the rows
  kept. Once the rows waiting reach ``sink_batch_rows`` every assigned
  partition is paused (``controlfeed_sink_paused`` 1) until a flush
  succeeds: the sink never buffers more than about two batches, and never
  stops the worker.
- **Start.** The store is opened and migrated first, retried with backoff
  while it is down, so the worker starts without ClickHouse; the consumer
  subscribes only once the store is ready. Retention runs then and every
  hour. A store that cannot work at all (chDB missing, a refused migration)
  is logged as an error and the sink stays idle (paused) until the worker stops.
- **Rebalance.** On revoke the waiting rows are flushed once and the offsets
  committed; if that fails they are dropped: they are read again from the
  committed offsets by whoever gets the partitions. Lost partitions drop them
  at once.

Store calls run on the ``BlockWriter``'s threads (one per store), never on
the stage's own, so a slow ClickHouse never stops the reading.

Over 400 lines: for now it still holds its flush/commit state machine, which issue
16 moves into a pure module of its own with its own tests.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final

from confluent_kafka import KafkaException, Message, TopicPartition

from sinks import (
    Batcher,
    Block,
    BlockWriter,
    QueryError,
    SinkError,
    Store,
    StoreUnavailableError,
    drop_old_partitions,
    migrate,
)
from streams import stores
from streams.kafka.commits import Cut, OffsetLedger, Partition
from streams.kafka.stage import Stage, headers
from streams.kafka.transactions import StopRequested
from streams.metrics import (
    record_sink_error,
    record_sink_flush,
    set_sink_paused,
    set_sink_pending_rows,
)
from streams.settings import Settings
from streams.sink.backoff import Backoff
from streams.sink.exceptions import UnreadableRecordError
from streams.sink.records import alert_of, alert_state_of, dead_letter_of, event_of

__all__ = ["RETENTION_INTERVAL_S", "SinkService"]

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S: Final = 3600.0
"""Seconds between two retention runs (the first runs once the store is ready)."""
_SKIP_LOG_S: Final = 10.0
"""At most one warning per topic this often about records the sink cannot read."""
_RETENTION_RETRY_S: Final = 60.0
_STOP_FLUSH_TIMEOUT_S: Final = 10.0


@dataclass(slots=True)
class _Chunk:
    """Rows of one table taken from the batcher and not stored yet."""

    table: str
    columns: list[list[Any]]
    rows: int


@dataclass(slots=True)
class _Flight:
    """One flush: rows taken from the batcher together, and the cut of offsets they complete."""

    chunks: list[_Chunk]
    """The chunks not stored yet (stored ones are removed)."""
    cut: Cut
    """Committable once this flush and every earlier one are stored."""
    running: concurrent.futures.Future[_Outcome] | None = None
    """The attempt being made; None before the first and after each."""

    @property
    def rows(self) -> int:
        return sum(chunk.rows for chunk in self.chunks)


@dataclass(slots=True)
class _Outcome:
    """What one attempt to store the chunks did (made in the store's thread)."""

    done: list[tuple[_Chunk, float]] = field(default_factory=list)
    failed: tuple[_Chunk, float, SinkError] | None = None


def _insert_all(store: Store, chunks: list[_Chunk]) -> _Outcome:
    """Insert the chunks in order, stopping at the first failure; runs in the store's thread."""
    outcome = _Outcome()
    for chunk in chunks:
        start = time.monotonic()
        try:
            store.insert(chunk.table, chunk.columns)
        except SinkError as err:
            outcome.failed = (chunk, time.monotonic() - start, err)
            return outcome
        outcome.done.append((chunk, time.monotonic() - start))
    return outcome


class SinkService(Stage):
    """Stores events, alerts and dead letters read from Kafka; see the module docstring.

    ``open_store`` (for tests) replaces ``sinks.open_store`` with the settings'
    URL and ``data_dir / "chdb"``; it is called on the stage's thread.
    """

    name = "sink"
    needed_for_ready = False  # the worker runs while ClickHouse is down

    def __init__(
        self,
        settings: Settings,
        worker_id: str,
        stop: threading.Event,
        *,
        open_store: Callable[[], Store] | None = None,
    ) -> None:
        topics = (settings.topic_engine, settings.topic_alerts, settings.topic_dead_letter,
                  settings.topic_alert_state)  # fmt: skip
        group = f"{settings.worker_group}-sink"
        super().__init__(settings, group, topics, f"{group}-{worker_id}", stop)
        self._open = open_store or partial(stores.writer, settings)
        self._engine, self._alerts, self._states = topics[0], topics[1], topics[3]
        self._max_rows = settings.sink_batch_rows
        self._store: Store | None = None
        self._writer: BlockWriter | None = None
        self._batcher: Batcher | None = None
        self._flights: deque[_Flight] = deque()
        self._ledger = OffsetLedger()
        self._read_since: float | None = None
        self._backoff = Backoff(cap=settings.sink_retry_max_seconds)
        self._retry_at = 0.0
        self._next_retention = 0.0
        self._skips: dict[str, int] = {}
        self._skip_logged: dict[str, float] = {}
        self.paused = False
        """True while every assigned partition is paused because storing fails."""

    # ------------------------------------------------------------- lifecycle

    def open(self) -> None:
        """Open and migrate the store, retrying while it is unavailable; then retention.

        A store that can never work (chDB missing, a refused migration) is
        logged as an error; the sink then stays idle (shown paused) until the
        worker stops, never subscribing.
        """
        while True:
            try:
                if self._store is None:
                    self._store = self._open()
                applied = migrate(self._store)
                break
            except StoreUnavailableError as err:
                set_sink_paused(True)
                delay = self._backoff.next()
                log.warning(
                    "ClickHouse is unreachable, the sink retries in %.1f s (not consuming "
                    "until then): %s",
                    delay, err,
                )  # fmt: skip
                if self.stop.wait(delay):
                    raise StopRequested("opening the store") from None
            except SinkError as err:
                set_sink_paused(True)
                log.error("the sink cannot store anything and stays idle: %s %s", err, err.hint)
                self.stop.wait()
                raise StopRequested("the sink is idle") from None
        log.info("sink store %s ready (migrations applied: %s)", self._store.description,
                 applied or "none")  # fmt: skip
        self._backoff.reset()
        set_sink_paused(False)
        self._writer = BlockWriter([self._store, *self._more_stores()])
        self._batcher = Batcher(
            self._store, max_rows=self._max_rows, max_age=self.settings.sink_batch_seconds
        )
        self._retention()

    def _more_stores(self) -> list[Store]:
        """The extra connections of a server store (``sink_writers`` in all); none for chDB.

        One that cannot be opened now is left out: the sink works with fewer.
        """
        if not self.settings.clickhouse_url:
            return []
        stores: list[Store] = []
        for _ in range(self.settings.sink_writers - 1):
            try:
                stores.append(self._open())
            except SinkError as err:
                log.warning("sink stores with %d connection(s), not %d: %s",
                            len(stores) + 1, self.settings.sink_writers, err)  # fmt: skip
                break
        return stores

    def close(self) -> None:
        """Try a last flush and commit (bounded), then close the store."""
        deadline = time.monotonic() + _STOP_FLUSH_TIMEOUT_S
        if self._batcher is not None and self._consumer is not None and not self._drain(deadline):
            log.warning("sink stopped with rows not stored: they will be read again")
        if self._writer is not None:
            threading.Thread(target=self._writer.close, daemon=True).start()
        elif self._store is not None:
            self._store.close()

    # ------------------------------------------------------------- reading

    def handle(self, batch: list[Message]) -> None:
        """Queue the row of every record (if it has one) and note its offset."""
        take = self._take
        for msg in batch:
            take(msg)
        if self._read_since is None:
            self._read_since = time.monotonic()

    def _take(self, msg: Message) -> None:
        assert self._batcher is not None  # subscribed only once prepared
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        value: bytes = msg.value() or b""
        try:
            if topic == self._engine:
                event = event_of(value, headers(msg))
                if event is not None:
                    self._batcher.add_event(event)
            elif topic == self._alerts:
                self._batcher.add_alert(alert_of(value))
            elif topic == self._states:
                self._batcher.add_alert_action(alert_state_of(value), partition, offset)
            else:
                kind, stamp = msg.timestamp()
                self._batcher.add_dead_letter(
                    dead_letter_of(value, headers(msg), stamp if kind else None)
                )
        except UnreadableRecordError as err:
            self._skipped(topic, partition, offset, err)
        self._ledger.read((topic, partition), offset + 1)

    def _skipped(self, topic: str, partition: int, offset: int, err: UnreadableRecordError) -> None:
        """Log a record the sink cannot read: the first at once, then one line per topic
        every ``_SKIP_LOG_S`` with the count (a flood of junk must not flood the log)."""
        count = self._skips.get(topic, 0) + 1
        self._skips[topic] = count
        now = time.monotonic()
        if count == 1 or now >= self._skip_logged.get(topic, 0.0) + _SKIP_LOG_S:
            log.warning("sink skipped %d unreadable record(s) of %s so far; latest %s/%d@%d: %s",
                        count, topic, topic, partition, offset, err)  # fmt: skip
            self._skip_logged[topic] = now

    @property
    def pending_rows(self) -> int:
        """Rows read and not stored yet (the batcher's and the flushes')."""
        batched = 0 if self._batcher is None else self._batcher.pending_rows
        return batched + sum(flight.rows for flight in self._flights)

    def _flush_due(self, now: float) -> bool:
        assert self._batcher is not None
        if self._batcher.due():
            return True
        since = self._read_since
        return since is not None and now - since >= self.settings.sink_batch_seconds

    def after_poll(self) -> None:
        """Settle and start flushes when due and allowed, pause, retention."""
        self._settle()
        if time.monotonic() >= self._retry_at:
            self._start_waiting()
            if self._flush_due(time.monotonic()):
                while len(self._running()) >= self._writers():  # all busy: wait for one
                    concurrent.futures.wait(
                        self._running(), return_when=concurrent.futures.FIRST_COMPLETED
                    )
                    self._settle()
                self._take_flight()
                if time.monotonic() >= self._retry_at:
                    self._start_waiting()
        if self.pending_rows >= self._max_rows and time.monotonic() < self._retry_at:
            self._pause()
        if time.monotonic() >= self._next_retention:
            self._retention()
        set_sink_pending_rows(self.pending_rows)

    # ------------------------------------------------------------- storing

    def _writers(self) -> int:
        return 1 if self._writer is None else self._writer.size

    def _running(self) -> list[concurrent.futures.Future[_Outcome]]:
        return [flight.running for flight in self._flights if flight.running is not None]

    def _take_flight(self) -> None:
        """Queue a flush of every waiting row, with the offsets read so far."""
        assert self._batcher is not None
        chunks = _chunks(self._batcher.take()) if self._batcher.pending_rows else []
        self._flights.append(_Flight(chunks, self._ledger.cut()))
        self._read_since = None

    def _start_waiting(self, skip: set[int] | None = None) -> set[int]:
        """Start the flushes not running (new or failed), oldest first, while stores are free.

        ``skip``: ids of flights not to start (``_drain`` tries each once).
        Returns the ids of the flights started.
        """
        free = self._writers() - len(self._running())
        started: set[int] = set()
        for flight in self._flights:
            if len(started) >= free:
                break
            if flight.running is None and flight.chunks and id(flight) not in (skip or ()):
                self._start(flight)
                started.add(id(flight))
        return started

    def _start(self, flight: _Flight) -> None:
        assert self._writer is not None
        flight.running = self._writer.run(partial(_insert_all, chunks=list(flight.chunks)))

    def _settle(self) -> None:
        """Take in the flushes that finished; commit the offsets they release, in order.

        A flush's offsets are released only once it and every earlier flush
        are stored (``OffsetLedger.durable``). A failure is counted and logged,
        and the flush waits for the backoff (``_start_waiting``).
        """
        released: dict[Partition, int] = {}
        for flight in list(self._flights):
            if flight.running is None or not flight.running.done():
                continue
            outcome = flight.running.result()  # a SinkError is in the outcome; others are bugs
            flight.running = None
            for chunk, seconds in outcome.done:
                record_sink_flush(chunk.table, chunk.rows, seconds)
            del flight.chunks[: len(outcome.done)]
            if outcome.failed is not None:
                self._failed(*outcome.failed)
            else:
                self._stored()
        while self._flights and not self._flights[0].chunks and self._flights[0].running is None:
            released.update(self._ledger.durable(self._flights.popleft().cut))
        if released:
            self._commit(released)

    def _drain(self, deadline: float) -> bool:
        """Store every row read so far and commit; True when all is stored and committed.

        For a rebalance and for stopping: each flush waiting is tried once
        more, at once; one that fails stays. Gives up at ``deadline``.
        """
        if self._batcher is None or self._writer is None:
            return False
        if self._batcher.pending_rows or self._ledger.pending:
            self._take_flight()
        tried: set[int] = set()
        while True:
            self._settle()
            if not self._flights:
                return True
            tried |= self._start_waiting(skip=tried)
            running = self._running()
            left = deadline - time.monotonic()
            if not running or left <= 0:
                return False
            concurrent.futures.wait(
                running, timeout=left, return_when=concurrent.futures.FIRST_COMPLETED
            )

    def _failed(self, chunk: _Chunk, seconds: float, err: SinkError) -> None:
        record_sink_error(chunk.table, seconds)
        delay = self._backoff.next()
        self._retry_at = time.monotonic() + delay
        set_sink_pending_rows(self.pending_rows)
        if isinstance(err, QueryError):
            log.error(
                "ClickHouse refused rows for %s, the sink retries in %.1f s (%d rows waiting; "
                "a bug or a schema mismatch): %s",
                chunk.table, delay, self.pending_rows, err,
            )  # fmt: skip
        else:
            log.warning(
                "ClickHouse is unreachable, the sink retries in %.1f s (%d rows waiting, "
                "offsets not committed): %s",
                delay, self.pending_rows, err,
            )  # fmt: skip

    def _stored(self) -> None:
        if self._backoff.failures:
            log.info("ClickHouse is reachable again after %d failed attempts; the sink goes on",
                     self._backoff.failures)  # fmt: skip
        self._backoff.reset()
        self._retry_at = 0.0
        if self.paused:
            self.consumer.resume(self.consumer.assignment())
            self.paused = False
            set_sink_paused(False)
            log.info("sink resumed consuming")
        set_sink_pending_rows(self.pending_rows)

    def _pause(self) -> None:
        if self.paused:
            return
        self.consumer.pause(self.consumer.assignment())
        self.paused = True
        set_sink_paused(True)
        log.warning("sink paused consuming: %d rows wait for ClickHouse", self.pending_rows)

    def _commit(self, offsets: dict[Partition, int]) -> None:
        """Commit ``offsets`` of the partitions still assigned; a failure is only logged.

        The rows are stored already: an uncommitted offset means they are read
        and stored again, which the tables absorb.
        """
        mine = {(tp.topic, tp.partition) for tp in self.consumer.assignment()}
        wanted = [TopicPartition(t, p, o) for (t, p), o in offsets.items() if (t, p) in mine]
        if not wanted:
            return
        try:
            self.consumer.commit(offsets=wanted, asynchronous=False)
        except KafkaException as err:
            log.warning("sink offsets not committed (rows stored; read again later): %s",
                        err.args[0].str())  # fmt: skip

    # ------------------------------------------------------------- rebalance

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Before a rebalance: one flush and commit; if it fails, drop the waiting rows.

        Dropped rows are read again from the committed offsets by whoever gets
        the partitions (every position restarts at the committed offset after
        an eager rebalance).
        """
        if self._batcher is None:
            return
        if not self._drain(time.monotonic() + _STOP_FLUSH_TIMEOUT_S):
            self._drop("partitions revoked while ClickHouse fails")
        self._reset()

    def lost(self, partitions: list[TopicPartition]) -> None:
        """Partitions gone without a chance to commit: drop what waits (read again elsewhere)."""
        if self._batcher is not None:
            self._drop("partitions lost")
            self._reset()

    def _drop(self, why: str) -> None:
        assert self._batcher is not None
        dropped = self.pending_rows
        self._batcher.take()
        self._flights.clear()
        log.warning("sink %s: %d rows dropped, to be read again from the committed offsets",
                    why, dropped)  # fmt: skip

    def _reset(self) -> None:
        self._ledger.reset()
        self._read_since = None
        self.paused = False  # the next assignment starts unpaused
        set_sink_paused(False)
        set_sink_pending_rows(self.pending_rows)

    def _retention(self) -> None:
        """Drop partitions older than ``retention_days``; a failure retries in a minute."""
        assert self._writer is not None
        days = self.settings.retention_days
        drop = partial(drop_old_partitions, days=days, now=datetime.now(UTC))
        try:
            dropped = self._writer.run(drop).result()
        except SinkError as err:
            log.warning("retention failed, retried in %.0f s: %s", _RETENTION_RETRY_S, err)
            self._next_retention = time.monotonic() + _RETENTION_RETRY_S
            return
        if dropped:
            log.info("retention dropped %d day partitions older than %d days", len(dropped), days)
        self._next_retention = time.monotonic() + RETENTION_INTERVAL_S


def _chunks(block: Block) -> list[_Chunk]:
    return [
        _Chunk(table, columns, len(columns[0]) if columns else 0)
        for table, columns in block.tables.items()
    ]
