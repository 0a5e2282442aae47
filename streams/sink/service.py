"""``SinkService``: the worker's storage loop, from three Kafka topics into the store.

Started with the worker's Faust app (``streams.worker.app.build_app`` adds it
as a runtime dependency when ``settings.sink_enabled``); a ``mode.Service``
owning one plain aiokafka consumer, like ``streams.worker.engine_reader``. Its
group is ``<worker_group>-sink``; it reads the engine topic, the alerts topic
and the dead-letter topic (``streams.sink.records`` says which records become
which rows) into a ``sinks.Batcher``. ``docs/storage.md``, "The Kafka side",
explains the design; in short:

- **Offsets after the flush.** Offsets are committed by hand, and only for
  records whose rows are stored. A flush (at ``sink_batch_rows`` rows or
  when the oldest row is ``sink_batch_seconds`` old) takes the batch with the
  offsets it completes; once it and every flush before it are stored, those
  offsets are committed. A crash re-reads what was not committed; the tables
  de-duplicate.
- **Flushes in flight.** On a ClickHouse server up to ``sink_writers``
  flushes (2) are stored at once, each on its own connection
  (``sinks.writer.BlockWriter``), while the loop reads the next batch; when
  the next one is due and all are busy, the loop waits for one to end. chDB
  stores one at a time. Measured in ``docs/benchmarks.md``, "Sink".
- **Outage.** A ``StoreUnavailableError`` (or a ``QueryError``) while storing
  is counted (``controlfeed_sink_errors_total``), logged, and retried after a
  backoff (0.5 s doubling to ``sink_retry_max_seconds``, 30 s) with the rows
  kept. Once the rows waiting reach ``sink_batch_rows`` every assigned
  partition is paused
  (``controlfeed_sink_paused`` 1) until a flush succeeds: the sink never
  buffers more than about two batches, and never crashes the worker.
- **Start.** The store is opened and migrated in the background, retried
  with backoff while it is down, so the worker starts without ClickHouse; the
  consumer subscribes only once the store is ready. Retention runs then and
  every hour. A store that cannot work at all (chDB missing, a refused
  migration) is logged as an error and the sink stays idle (paused).
- **Rebalance.** On revoke one flush is tried and the offsets committed; if it
  fails the waiting rows are dropped: they are read again from the committed
  offsets by whoever gets the partitions.

Store calls run on threads of their own (chDB and clickhouse-driver block):
opening and migrating on one, then everything through the ``BlockWriter``,
one thread per store, so the worker's event loop never waits on ClickHouse.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import ConsumerStoppedError, KafkaError
from mode import Service

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
    open_store,
)
from streams.metrics import (
    record_sink_error,
    record_sink_flush,
    set_sink_paused,
    set_sink_pending_rows,
)
from streams.settings import Settings
from streams.sink.backoff import Backoff
from streams.sink.exceptions import UnreadableRecordError
from streams.sink.records import alert_of, dead_letter_of, event_of

__all__ = ["RETENTION_INTERVAL_S", "SinkService"]

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S: Final = 3600.0
"""Seconds between two retention runs (the first runs once the store is ready)."""
_SKIP_LOG_S: Final = 10.0
"""At most one warning per topic this often about records the sink cannot read."""
_RETENTION_RETRY_S: Final = 60.0
_POLL_MS: Final = 200
_MAX_POLL_RECORDS: Final = 5000
_STOP_FLUSH_TIMEOUT_S: Final = 10.0
_T = TypeVar("_T")


@dataclass(slots=True)
class _Chunk:
    """Rows of one table taken from the batcher and not stored yet."""

    table: str
    columns: list[list[Any]]
    rows: int


@dataclass(slots=True)
class _Flight:
    """One flush: rows taken from the batcher together, and the offsets they complete."""

    chunks: list[_Chunk]
    """The chunks not stored yet (stored ones are removed)."""
    offsets: dict[TopicPartition, int]
    """Committable once this flush and every earlier one are stored."""
    running: asyncio.Future[_Outcome] | None = None
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


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sink: SinkService) -> None:
        self.sink = sink

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.sink.revoked()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("sink partitions: %s", sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))


class SinkService(Service):
    """Stores events, alerts and dead letters read from Kafka; see the module docstring.

    ``open_store`` (for tests) replaces ``sinks.open_store`` with the settings'
    URL and ``data_dir / "chdb"``; it is called in the store's thread.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        session_timeout_s: float = 10.0,
        open_store: Callable[[], Store] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._settings = settings
        self._open = open_store or partial(
            _open_configured, settings.clickhouse_url, settings.data_dir
        )
        self.topics = (settings.topic_engine, settings.topic_alerts, settings.topic_dead_letter)
        """The topics read: engine, alerts, dead letters."""
        self._consumer_settings = {
            "bootstrap_servers": settings.kafka_bootstrap_servers,
            "group_id": f"{settings.worker_group}-sink",
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": int(session_timeout_s * 1000),
            "heartbeat_interval_ms": int(session_timeout_s * 1000 / 3),
        }
        self._max_rows = settings.sink_batch_rows
        self._consumer: AIOKafkaConsumer | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._store: Store | None = None
        self._writer: BlockWriter | None = None
        self._batcher: Batcher | None = None
        self._lock = asyncio.Lock()
        self._flights: deque[_Flight] = deque()
        self._offsets: dict[TopicPartition, int] = {}
        self._read_since: float | None = None
        self._backoff = Backoff(cap=settings.sink_retry_max_seconds)
        self._retry_at = 0.0
        self._next_retention = 0.0
        self._skips: dict[str, int] = {}
        self._skip_logged: dict[str, float] = {}
        self.paused = False
        """True while every assigned partition is paused because storing fails."""

    # ------------------------------------------------------------- lifecycle

    async def on_start(self) -> None:
        """Create and start the consumer (``mode`` calls it when the app starts).

        The consumer subscribes later, once the store is migrated (``_run``).
        """
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sink-store")
        self._consumer = AIOKafkaConsumer(**self._consumer_settings)  # needs the running loop
        await self._consumer.start()

    async def on_stop(self) -> None:
        """Try a last flush and commit (bounded), leave the group, close the store."""
        if self._batcher is not None:
            try:
                stored = await asyncio.wait_for(self._drain_locked(), _STOP_FLUSH_TIMEOUT_S)
            except TimeoutError:
                stored = False
            if not stored:
                log.warning("sink stopped with rows not stored: they will be read again")
        if self._consumer is not None:
            await self._consumer.stop()
        if self._executor is not None:
            if self._writer is not None:
                self._executor.submit(self._writer.close)  # waits for what is in flight
            elif self._store is not None:
                self._executor.submit(self._store.close)
            self._executor.shutdown(wait=False)

    async def _in_thread(self, fn: Callable[..., _T], *args: Any) -> _T:
        assert self._executor is not None  # made in on_start
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @Service.task
    async def _run(self) -> None:
        """Prepare the store, subscribe, then read, batch and flush until the app stops."""
        consumer = self._consumer
        assert consumer is not None  # tasks start after on_start
        if not await self._prepare():
            return
        consumer.subscribe(list(self.topics), listener=_Rebalance(self))
        max_records = min(self._max_rows, _MAX_POLL_RECORDS)
        while not self.should_stop:
            try:
                batches = await consumer.getmany(timeout_ms=_POLL_MS, max_records=max_records)
            except ConsumerStoppedError:
                return
            for tp, records in batches.items():
                for record in records:
                    self._take(tp, record)
            await self._tick()

    async def _prepare(self) -> bool:
        """Open and migrate the store, retrying while it is unavailable; then retention.

        False when the store can never work (chDB missing, a refused
        migration): logged as an error, the sink stays idle and shows paused.
        """
        while not self.should_stop:
            try:
                if self._store is None:
                    self._store = await self._in_thread(self._open)
                applied = await self._in_thread(migrate, self._store)
                break
            except StoreUnavailableError as err:
                set_sink_paused(True)
                delay = self._backoff.next()
                log.warning(
                    "ClickHouse is unreachable, the sink retries in %.1f s (not consuming "
                    "until then): %s",
                    delay, err,
                )  # fmt: skip
                await self.sleep(delay)
            except SinkError as err:
                set_sink_paused(True)
                log.error("the sink cannot store anything and stays idle: %s %s", err, err.hint)
                return False
        else:
            return False
        log.info("sink store %s ready (migrations applied: %s)", self._store.description,
                 applied or "none")  # fmt: skip
        self._backoff.reset()
        set_sink_paused(False)
        self._writer = BlockWriter([self._store, *await self._more_stores()])
        self._batcher = Batcher(
            self._store, max_rows=self._max_rows, max_age=self._settings.sink_batch_seconds
        )
        await self._retention()
        return True

    async def _more_stores(self) -> list[Store]:
        """The extra connections of a server store (``sink_writers`` in all); none for chDB.

        One that cannot be opened now is left out: the sink works with fewer.
        """
        if not self._settings.clickhouse_url:
            return []
        stores: list[Store] = []
        for _ in range(self._settings.sink_writers - 1):
            try:
                stores.append(await self._in_thread(self._open))
            except SinkError as err:
                log.warning("sink stores with %d connection(s), not %d: %s",
                            len(stores) + 1, self._settings.sink_writers, err)  # fmt: skip
                break
        return stores

    # ------------------------------------------------------------- reading

    def _take(self, tp: TopicPartition, record: Any) -> None:
        """Queue the row of one record (if it has one) and remember its offset."""
        assert self._batcher is not None  # subscribed only once prepared
        value: bytes = record.value or b""
        try:
            if tp.topic == self.topics[0]:
                event = event_of(value, record.headers)
                if event is not None:
                    self._batcher.add_event(event)
            elif tp.topic == self.topics[1]:
                self._batcher.add_alert(alert_of(value))
            else:
                headers = record.headers or ()
                self._batcher.add_dead_letter(dead_letter_of(value, headers, record.timestamp))
        except UnreadableRecordError as err:
            self._skipped(tp, record.offset, err)
        self._offsets[tp] = record.offset + 1
        if self._read_since is None:
            self._read_since = time.monotonic()

    def _skipped(self, tp: TopicPartition, offset: int, err: UnreadableRecordError) -> None:
        """Log a record the sink cannot read: the first at once, then one line per topic
        every ``_SKIP_LOG_S`` with the count (a flood of junk must not flood the log)."""
        count = self._skips.get(tp.topic, 0) + 1
        self._skips[tp.topic] = count
        now = time.monotonic()
        if count == 1 or now >= self._skip_logged.get(tp.topic, 0.0) + _SKIP_LOG_S:
            log.warning("sink skipped %d unreadable record(s) of %s so far; latest %s/%d@%d: %s",
                        count, tp.topic, tp.topic, tp.partition, offset, err)  # fmt: skip
            self._skip_logged[tp.topic] = now

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
        return since is not None and now - since >= self._settings.sink_batch_seconds

    async def _tick(self) -> None:
        """After each poll: settle and start flushes when due and allowed, pause, retention."""
        async with self._lock:
            await self._settle()
            if time.monotonic() >= self._retry_at:
                self._start_waiting()
                if self._flush_due(time.monotonic()):
                    while len(self._running()) >= self._writers():  # all busy: wait for one
                        await asyncio.wait(self._running(), return_when=asyncio.FIRST_COMPLETED)
                        await self._settle()
                    self._take_flight()
                    if time.monotonic() >= self._retry_at:
                        self._start_waiting()
        if self.pending_rows >= self._max_rows and time.monotonic() < self._retry_at:
            self._pause()
        if time.monotonic() >= self._next_retention:
            await self._retention()
        set_sink_pending_rows(self.pending_rows)

    # ------------------------------------------------------------- storing

    def _writers(self) -> int:
        return 1 if self._writer is None else self._writer.size

    def _running(self) -> list[asyncio.Future[_Outcome]]:
        return [flight.running for flight in self._flights if flight.running is not None]

    def _take_flight(self) -> None:
        """Queue a flush of every waiting row, with the offsets read so far."""
        assert self._batcher is not None
        chunks = _chunks(self._batcher.take()) if self._batcher.pending_rows else []
        self._flights.append(_Flight(chunks, dict(self._offsets)))
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
        job = partial(_insert_all, chunks=list(flight.chunks))
        flight.running = asyncio.wrap_future(self._writer.run(job))

    async def _settle(self) -> None:
        """Take in the flushes that finished; commit the offsets of the stored ones, in order.

        A flush's offsets are committed only once it and every earlier flush
        are stored. A failure is counted and logged, and the flush waits for
        the backoff (``_start_waiting``).
        """
        for flight in self._flights:
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
        offsets: dict[TopicPartition, int] = {}
        while self._flights and not self._flights[0].chunks and self._flights[0].running is None:
            offsets.update(self._flights.popleft().offsets)
        if offsets:
            await self._commit(offsets)
            for tp, offset in offsets.items():
                if self._offsets.get(tp) == offset:
                    del self._offsets[tp]

    async def _drain_locked(self) -> bool:
        async with self._lock:
            return await self._drain()

    async def _drain(self) -> bool:
        """Store every row read so far and commit; True when all is stored and committed.

        For a rebalance and for stopping (called with the lock held): each
        flush waiting is tried once more, at once; one that fails stays.
        """
        if self._batcher is None or self._writer is None:
            return False
        if self._batcher.pending_rows or self._offsets:
            self._take_flight()
        tried: set[int] = set()
        while True:
            await self._settle()
            if not self._flights:
                return True
            tried |= self._start_waiting(skip=tried)
            running = self._running()
            if not running:
                return False
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)

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
        if self.paused and self._consumer is not None:
            self._consumer.resume(*self._consumer.assignment())
            self.paused = False
            set_sink_paused(False)
            log.info("sink resumed consuming")
        set_sink_pending_rows(self.pending_rows)

    def _pause(self) -> None:
        if self.paused or self._consumer is None:
            return
        self._consumer.pause(*self._consumer.assignment())
        self.paused = True
        set_sink_paused(True)
        log.warning("sink paused consuming: %d rows wait for ClickHouse", self.pending_rows)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` of the partitions still assigned; a failure is only logged.

        The rows are stored already: an uncommitted offset means they are read
        and stored again, which the tables absorb.
        """
        consumer = self._consumer
        if consumer is None or not offsets:
            return
        mine = consumer.assignment()
        wanted = {tp: offset for tp, offset in offsets.items() if tp in mine}
        if not wanted:
            return
        try:
            await consumer.commit(wanted)
        except KafkaError as err:
            log.warning("sink offsets not committed (rows stored; read again later): %r", err)

    async def revoked(self) -> None:
        """Before a rebalance: one flush and commit; if it fails, drop the waiting rows.

        Called by the rebalance listener. Dropped rows are read again from the
        committed offsets by whoever gets the partitions (aiokafka resets every
        position to the committed offset after a rebalance).
        """
        if self._batcher is None:
            return
        async with self._lock:
            if not await self._drain():
                dropped = self.pending_rows
                self._batcher.take()
                self._flights.clear()
                log.warning("sink partitions revoked while ClickHouse fails: %d rows dropped, "
                            "to be read again from the committed offsets", dropped)  # fmt: skip
            self._offsets.clear()
            self._read_since = None
            self.paused = False  # the next assignment starts unpaused
            set_sink_paused(False)
            set_sink_pending_rows(self.pending_rows)

    async def _retention(self) -> None:
        """Drop partitions older than ``retention_days``; a failure retries in a minute."""
        assert self._writer is not None
        days = self._settings.retention_days
        drop = partial(drop_old_partitions, days=days, now=datetime.now(UTC))
        try:
            dropped = await asyncio.wrap_future(self._writer.run(drop))
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


def _open_configured(url: str, data_dir: Any) -> Store:
    """``sinks.open_store`` with the settings' values (the default ``open_store``)."""
    return open_store(url, data_dir / "chdb")
