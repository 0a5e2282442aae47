"""``SinkService``: the worker's storage stage, from four Kafka topics into the store.

Run by the worker's runtime (``streams.worker.runtime``) on a thread of its
own when ``settings.sink_enabled``; a ``streams.kafka.stage.Stage`` like the ingest
and engine stages. Its group is ``<worker_group>-sink``; it reads the engine
topic, the alerts topic, the dead-letter topic and the alert-state topic
(the console's actions) with read_committed
(``streams.sink.records`` says which records become which rows) into a
``sinks.Batcher``. ``docs/storage.md``, "The Kafka side", explains the design.

The decisions are ``streams.sink.flow.SinkFlow``'s, a pure state machine:
when a flush is due, which offsets may be committed (only once a flush and
every one before it are stored: ``streams.kafka.commits``, the pipeline's one
commit policy), how long to back off while storing fails, when to pause and
resume reading, what a rebalance drops. This class is the reader around it:

- **Flushes in flight.** Each flush is stored on the ``sinks.writer.BlockWriter``'s
  threads (one per connection: ``sink_writers`` on a server, one for chDB),
  never on the stage's own, so a slow ClickHouse never stops the reading.
- **Outage.** A ``StoreUnavailableError`` (or a ``QueryError``) while storing
  is counted (``controlfeed_sink_errors_total``) and logged; the partitions
  are paused and resumed as the flow says (``controlfeed_sink_paused``). The
  sink never stops the worker.
- **Start.** The store is opened and migrated first, retried with backoff
  while it is down, so the worker starts without ClickHouse; the consumer
  subscribes only once the store is ready. Retention runs then and every
  hour. A store that cannot work at all (chDB missing, a refused migration)
  is logged as an error and the sink stays idle (paused) until the worker stops.
- **Rebalance and stop.** Every waiting flush is tried once more and the
  offsets committed; on a revoke what still fails is dropped (read again from
  the committed offsets by whoever gets the partitions); lost partitions drop
  it at once.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Final

from confluent_kafka import KafkaException, Message, TopicPartition

from sinks import (
    Batcher,
    BlockWriter,
    QueryError,
    SinkError,
    Store,
    drop_old_partitions,
)
from streams import stores
from streams.kafka.commits import Partition
from streams.kafka.stage import Stage, headers
from streams.metrics import (
    record_sink_error,
    record_sink_flush,
    set_sink_paused,
    set_sink_pending_rows,
)
from streams.settings import Settings
from streams.sink.attempt import Outcome, chunks_of, insert_all
from streams.sink.connections import more_connections, open_migrated
from streams.sink.exceptions import UnreadableRecordError
from streams.sink.flow import Chunk, Ended, Flight, SinkFlow
from streams.sink.records import alert_of, alert_state_of, dead_letter_of, event_of
from streams.sink.skips import SkipLog

__all__ = ["RETENTION_INTERVAL_S", "SinkService"]

log = logging.getLogger(__name__)

RETENTION_INTERVAL_S: Final = 3600.0
"""Seconds between two retention runs (the first runs once the store is ready)."""
_RETENTION_RETRY_S: Final = 60.0
_STOP_FLUSH_TIMEOUT_S: Final = 10.0


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
        self._writer: BlockWriter | None = None
        self._batcher: Batcher | None = None
        self._flow = SinkFlow(
            batch_rows=settings.sink_batch_rows,
            batch_seconds=settings.sink_batch_seconds,
            retry_max_seconds=settings.sink_retry_max_seconds,
        )
        self._attempts: dict[Flight, concurrent.futures.Future[Outcome]] = {}
        self._next_retention = 0.0
        self._skips = SkipLog()

    @property
    def paused(self) -> bool:
        """True while every assigned partition is paused because storing fails."""
        return self._flow.paused

    @property
    def pending_rows(self) -> int:
        """Rows read and not stored yet (the batch's and the flushes')."""
        return self._flow.pending_rows

    # ------------------------------------------------------------- lifecycle

    def open(self) -> None:
        """Open and migrate the store (``connections.open_migrated``: an outage is waited
        out, a store that can never work leaves the sink idle), then retention."""
        settings = self.settings
        store = open_migrated(self._open, self.stop, settings.sink_retry_max_seconds)
        extra = settings.sink_writers - 1 if settings.clickhouse_url else 0  # chDB: one
        more = more_connections(self._open, extra)
        self._writer = BlockWriter([store, *more])
        self._flow.writers = self._writer.size
        self._batcher = Batcher(store)  # rows only: when to take them is the flow's
        self._retention()

    def close(self) -> None:
        """Try a last flush and commit (bounded), then close the store's connections."""
        deadline = time.monotonic() + _STOP_FLUSH_TIMEOUT_S
        if self._batcher is not None and not self._drain(deadline):
            log.warning("sink stopped with rows not stored: they will be read again")
        if self._writer is not None:
            threading.Thread(target=self._writer.close, daemon=True).start()

    # ------------------------------------------------------------- reading

    def handle(self, batch: list[Message]) -> None:
        """Queue the row of every record (if it has one) and note its offset."""
        assert self._batcher is not None  # subscribed only once prepared
        now = time.monotonic()
        before = self._batcher.pending_rows
        offsets: dict[Partition, int] = {}
        take = self._take
        for msg in batch:
            topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
            take(msg, topic, partition, offset)
            offsets[(topic, partition)] = offset + 1
        self._flow.read(now, offsets, self._batcher.pending_rows - before)

    def _take(self, msg: Message, topic: str, partition: int, offset: int) -> None:
        assert self._batcher is not None
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

    def _skipped(self, topic: str, partition: int, offset: int, err: UnreadableRecordError) -> None:
        """Log a record the sink cannot read, throttled per topic (``SkipLog``)."""
        count = self._skips.skipped(topic, time.monotonic())
        if count is not None:
            log.warning("sink skipped %d unreadable record(s) of %s so far; latest %s/%d@%d: %s",
                        count, topic, topic, partition, offset, err)  # fmt: skip

    def after_poll(self) -> None:
        """Settle and start flushes when due and allowed, pause, retention."""
        flow = self._flow
        self._settle()
        now = time.monotonic()
        self._run(flow.start(now))
        if flow.due(now):
            while flow.busy:  # every writer busy: wait for one
                concurrent.futures.wait(
                    self._attempts.values(), return_when=concurrent.futures.FIRST_COMPLETED
                )
                self._settle()
            self._take_flight()
            self._run(flow.start(time.monotonic()))
        if flow.pause(time.monotonic()):
            self._pause()
        if time.monotonic() >= self._next_retention:
            self._retention()
        set_sink_pending_rows(self.pending_rows)

    # ------------------------------------------------------------- storing

    def _take_flight(self) -> None:
        """A flush of every waiting row, with the offsets read so far."""
        assert self._batcher is not None
        chunks = chunks_of(self._batcher.take()) if self._batcher.pending_rows else []
        self._flow.take(chunks)

    def _run(self, flights: list[Flight]) -> None:
        """Start storing ``flights`` on the writer's threads."""
        for flight in flights:
            assert self._writer is not None  # flights exist only once the store is open
            self._attempts[flight] = self._writer.run(partial(insert_all, chunks=flight.chunks[:]))

    def _settle(self) -> None:
        """Take in the attempts that ended, oldest flight first; commit what they release.

        A flush's offsets are released only once it and every earlier flush
        are stored (``SinkFlow.release``). A failure is counted and logged,
        and the flush waits for the backoff (``SinkFlow.start``).
        """
        for flight in self._flow.running:
            attempt = self._attempts[flight]
            if not attempt.done():
                continue
            del self._attempts[flight]
            outcome = attempt.result()  # a SinkError is in the outcome; others are bugs
            for chunk, seconds in outcome.done:
                record_sink_flush(chunk.table, chunk.rows, seconds)
            failed = outcome.failed is not None
            ended = self._flow.ended(flight, len(outcome.done), failed=failed, now=time.monotonic())
            if outcome.failed is not None:
                self._failed(*outcome.failed, ended)
            else:
                self._stored(ended)
        released = self._flow.release()
        if released:
            self._commit(released)

    def _drain(self, deadline: float) -> bool:
        """Store every row read so far and commit; True when all is stored and committed.

        For a rebalance and for stopping: each flush waiting is tried once
        more, at once; one that fails stays. Gives up at ``deadline``.
        """
        if self._batcher is None or self._writer is None:
            return False
        if self._flow.unflushed:
            self._take_flight()
        tried: set[Flight] = set()
        while True:
            self._settle()
            if not self._flow.flights:
                return True
            started = self._flow.start_now(skip=tried)
            self._run(started)
            tried.update(started)
            left = deadline - time.monotonic()
            if not self._attempts or left <= 0:
                return False
            concurrent.futures.wait(
                self._attempts.values(),
                timeout=left,
                return_when=concurrent.futures.FIRST_COMPLETED,
            )

    def _failed(self, chunk: Chunk, seconds: float, err: SinkError, ended: Ended) -> None:
        record_sink_error(chunk.table, seconds)
        set_sink_pending_rows(self.pending_rows)
        if isinstance(err, QueryError):
            log.error(
                "ClickHouse refused rows for %s, the sink retries in %.1f s (%d rows waiting; "
                "a bug or a schema mismatch): %s",
                chunk.table, ended.retry_in, self.pending_rows, err,
            )  # fmt: skip
        else:
            log.warning(
                "ClickHouse is unreachable, the sink retries in %.1f s (%d rows waiting, "
                "offsets not committed): %s",
                ended.retry_in, self.pending_rows, err,
            )  # fmt: skip

    def _stored(self, ended: Ended) -> None:
        if ended.failures:
            log.info("ClickHouse is reachable again after %d failed attempts; the sink goes on",
                     ended.failures)  # fmt: skip
        if ended.resume:
            self.consumer.resume(self.consumer.assignment())
            set_sink_paused(False)
            log.info("sink resumed consuming")
        set_sink_pending_rows(self.pending_rows)

    def _pause(self) -> None:
        self.consumer.pause(self.consumer.assignment())
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
        self._batcher.take()
        self._attempts.clear()  # still running ones end unheard: their rows are dropped
        dropped = self._flow.drop()
        log.warning("sink %s: %d rows dropped, to be read again from the committed offsets",
                    why, dropped)  # fmt: skip

    def _reset(self) -> None:
        self._flow.reset()  # the next assignment starts unpaused
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
