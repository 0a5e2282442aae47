"""The engine stage: the engine topic into the engines, alerts and checkpoints out.

Run by the worker's runtime (``streams.worker.runtime``) on a thread of its
own. Consumer group ``<worker_group>-engine``: workers of one group split the
engine partitions; one ``rules.Engine`` runs per partition held
(``streams.worker.engines``). The alerts, the engines' checkpoints and the
engine-topic offsets go out in one Kafka transaction, committed at most every
``commit_interval_ms`` (``streams.kafka.transactions``), so a reader of the
alerts topic with read_committed sees each alert once, whatever crashes.
``docs/worker.md``, "Checkpoints and exactly-once alerts", has the design.

- **Checkpoints.** Every ``checkpoint_interval_s`` (staggered over the
  partitions, one at a time) a partition whose engine moved on writes its
  state to its partition of the state topic (``streams.worker.checkpoints``),
  with the offset it covers, inside the transaction.
- **Taking a partition on** (a start, a restart, a rebalance, a rewind): its
  newest checkpoint is restored and the partition read from the offset it
  covers; with none (or one that cannot be read: logged) the engine is
  rebuilt from the start of the engine topic. Records below the group's
  committed offset are processed again *without* sending their alerts, which
  earlier transactions sent already; the engine is deterministic, so it
  reaches exactly the state it had.
- **Rewind.** When a transaction had to be aborted, every partition held is
  taken on again that way.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from rules import RulesConfig, SnapshotError, detection_path
from schemas.alerts import Alert
from streams.kafka.clients import consumer, producer
from streams.kafka.stage import headers
from streams.kafka.transactional import TransactionalStage
from streams.settings import Settings
from streams.wire import alert_key, cause_header, cause_ms, source_name
from streams.worker import checkpoints
from streams.worker.counts import EngineCounts
from streams.worker.engines import Engines
from streams.worker.exporting import (
    export_engine,
    forget_consumer_lag,
    record_checkpoint,
    record_restore,
    set_consumer_lag,
    set_engine_state,
)

__all__ = ["EngineStage", "Held", "input_sources"]

log = logging.getLogger(__name__)

_REPORT_S: Final = 2.0


def input_sources(settings: Settings) -> list[str]:
    """Every input source of the pipeline (all partitions of the five feed topics)."""
    return [
        source_name(topic, p)
        for topic in settings.feed_topics().values()
        for p in range(settings.topic_partitions)
    ]


@dataclass(slots=True)
class Held:
    """What the stage knows of one engine partition it holds."""

    next_offset: int
    """The offset after the last record processed (where reading goes on)."""
    publish_from: int
    """Alerts of records before this offset were sent by an earlier transaction."""
    checkpointed: int
    """The offset the newest checkpoint covers (written or restored); -1: none."""
    next_checkpoint: float
    """Monotonic time of the next checkpoint."""
    rows: dict[int, bytes] = field(default_factory=dict)
    """The encoder thread's rows of the previous checkpoint (``StateImage.encode``):
    buffered events still there are not encoded again. Only that thread touches it."""


@dataclass(frozen=True, slots=True)
class _Encoding:
    """A checkpoint whose bytes the encoder thread is making."""

    partition: int
    held: Held
    """The partition's ``Held`` when the image was taken (another one: taken on again)."""
    offset: int
    future: Future[bytes]
    started: float


class EngineStage(TransactionalStage):
    """Reads the engine topic into the engines; see the module docstring."""

    name = "engine"

    def __init__(
        self,
        settings: Settings,
        config: RulesConfig,
        worker_id: str,
        stop: threading.Event,
        *,
        unsafe: bool = False,
    ) -> None:
        """``worker_id``: this worker's stable name (its transactional id).

        ``unsafe`` is the chaos run's negative control (``benchmarks/chaos.py``)
        and nothing else: alerts bypass the transaction through a plain
        producer that holds them 2 s, while the offsets commit as usual, so a
        kill loses the alerts of records already committed.
        """
        ident = f"{settings.worker_group}-engine-{worker_id}"
        group = f"{settings.worker_group}-engine"
        topic = settings.topic_engine
        super().__init__(settings, group, [topic], ident, stop, **{"fetch.wait.max.ms": 50})
        self.engines = Engines(config, input_sources(settings))
        self.held: dict[int, Held] = {}
        """The engine partitions held, with their progress."""
        self._topic = topic
        self._state_topic = settings.topic_state
        self._alerts_topic = settings.topic_alerts
        self._checkpoint_s = settings.checkpoint_interval_s
        self._unsafe: Producer | None = None
        if unsafe:
            log.warning("UNSAFE: alerts bypass the transaction (a negative control; a kill "
                        "loses alerts)")  # fmt: skip
            held: dict[str, Any] = {"linger.ms": 2000}
            self._unsafe = producer(settings, f"{ident}-unsafe", **held)
        self._valid = True
        self._encoder = ThreadPoolExecutor(1, thread_name_prefix="controlfeed-checkpoint")
        self._encoding: _Encoding | None = None
        self._next_report = 0.0

    # ------------------------------------------------------------------ records

    def open(self) -> None:
        """Register the transactional producer; make the state-topic reader."""
        super().open()
        self._reader = consumer(self.settings, f"{self.group}-state", f"{self.client_id}-state")

    def handle(self, batch: list[Message]) -> None:
        """Feed every record to its partition's engine; send the alerts that are new.

        What it did is counted into an ``EngineCounts`` and exported once, at the end.
        """
        handle, held, replayed = self.engines.handle, self.held, 0
        counts = EngineCounts(len(batch))
        last: dict[int, int] = {}
        for msg in batch:
            p, offset = msg.partition() or 0, msg.offset() or 0
            alerts = handle(p, msg.value() or b"")
            last[p] = offset
            if offset < held[p].publish_from:  # its alerts went out before the restore
                replayed += 1
            elif alerts:
                self._publish(alerts, msg, counts)
        counts.replayed, counts.late = replayed, self.engines.take_late()
        export_engine(counts)
        for p, offset in last.items():
            held[p].next_offset = offset + 1
            self.ledger.read((self._topic, p), offset + 1)

    def _publish(self, alerts: list[Alert], msg: Message, counts: EngineCounts) -> None:
        """Queue ``alerts`` in the transaction, with the time of the record that caused them;
        count them and their detection latency into ``counts``."""
        cause = _cause_ms(msg)
        headers: list[tuple[str, str | bytes | None]] = [cause_header(cause)]
        latency = time.time() - cause / 1000
        send = self.txn.send if self._unsafe is None else self._unsafe.produce
        tally, latencies = counts.alerts, counts.latencies
        for alert in alerts:
            send(self._alerts_topic, alert.model_dump_json().encode(), alert_key(alert), -1,
                 headers=headers)  # fmt: skip
            kind = (alert.rule, alert.severity)
            tally[kind] = tally.get(kind, 0) + 1
            path = detection_path(alert.rule, alert.severity)
            same = latencies.get(path)
            if same is None:
                latencies[path] = [latency]
            else:
                same.append(latency)

    def after_poll(self) -> None:
        """A checkpoint when one is due; a commit once one is due (``Transactions.due``)."""
        now = time.monotonic()
        if self._unsafe is not None:
            self._unsafe.poll(0)
        self._send_checkpoint()
        checkpoint = [p for p, h in self.held.items() if now >= h.next_checkpoint]
        if checkpoint:
            self._checkpoint(min(checkpoint, key=lambda p: self.held[p].next_checkpoint), now)
        if self.txn.due(self.ledger.pending) and not self.commit():
            self._rewind()
        if now >= self._next_report:
            self._next_report = now + _REPORT_S
            self._report()

    def _checkpoint(self, p: int, now: float) -> None:
        """Start partition ``p``'s checkpoint (if it moved on and none is being encoded).

        The engine's image is taken here (tens of ms); its bytes are made on
        the encoder thread while the stage goes on, and sent by ``_send_checkpoint``
        in whatever transaction is open then: its offsets are at or past the
        image's, which is all a checkpoint needs.
        """
        part = self.held[p]
        part.next_checkpoint = now + self._checkpoint_s
        if part.next_offset == part.checkpointed or self._encoding is not None:
            return
        image = self.engines.image(p)
        future = self._encoder.submit(image.encode, part.rows)
        self._encoding = _Encoding(p, part, part.next_offset, future, time.monotonic())

    def _send_checkpoint(self, wait: bool = False) -> None:
        """Send the checkpoint being encoded once it is ready (``wait``: block for it).

        Dropped when its partition was taken away or taken on again meanwhile:
        its offset may then be ahead of what the next commit covers.
        """
        encoding = self._encoding
        if encoding is None or not (wait or encoding.future.done()):
            return
        self._encoding = None
        state = encoding.future.result()
        if self.held.get(encoding.partition) is not encoding.held:
            return
        checkpoint = checkpoints.Checkpoint(encoding.partition, encoding.offset, state)
        for record in checkpoints.records(checkpoint):
            self.txn.send(self._state_topic, record.value, record.key, checkpoint.partition,
                          record.headers)  # fmt: skip
        encoding.held.checkpointed = encoding.offset
        record_checkpoint(len(state), time.monotonic() - encoding.started)

    def _rewind(self) -> None:
        """After an abort: every partition held from its checkpoint (or rebuilt) again."""
        partitions = sorted(self.held)
        for p in partitions:
            self.engines.drop(p)
        self.held.clear()
        for tp in self._take_on(partitions):
            self.consumer.seek(tp)
        log.info("engine rewound partitions %s to their checkpoints", partitions)

    # ------------------------------------------------------------------ rebalance

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Keep the partitions still held; take the others on (checkpoint or rebuild)."""
        wanted = {tp.partition for tp in partitions}
        for gone in [p for p in self.held if p not in wanted or not self._valid]:
            self.engines.drop(gone)
            del self.held[gone]
            forget_consumer_lag(self._topic, gone)
        self._valid = True
        starts = [TopicPartition(self._topic, p, h.next_offset) for p, h in self.held.items()]
        starts += self._take_on(sorted(wanted - self.held.keys()))
        self.consumer.assign(starts)

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Commit; the engines are kept in case the partitions come back (``assigned``)."""
        if self.uncommitted and not self.commit():
            self._valid = False
        self.ledger.revoke((tp.topic, tp.partition) for tp in partitions)

    def lost(self, partitions: list[TopicPartition]) -> None:
        """Abort: what was not committed is the new owner's to redo."""
        self.abort_lost()
        for tp in partitions:
            self.engines.drop(tp.partition)
            self.held.pop(tp.partition, None)
            forget_consumer_lag(self._topic, tp.partition)

    def close(self) -> None:
        """Checkpoint every partition that moved on and commit (a restart then replays nothing)."""
        if self._consumer is not None and self.held:
            now = time.monotonic()
            self._send_checkpoint(wait=True)
            for p in sorted(self.held):
                self._checkpoint(p, now)
                self._send_checkpoint(wait=True)
            if self.uncommitted:
                self.commit()
        self.txn.close()
        self._encoder.shutdown(wait=False)

    def _take_on(self, partitions: list[int]) -> list[TopicPartition]:
        """Restore or rebuild each of ``partitions``; where each must be read from."""
        if not partitions:
            return []
        committed = self.committed([TopicPartition(self._topic, p) for p in partitions])
        now, starts = time.monotonic(), []
        reader = consumer(self.settings, f"{self.group}-state", f"{self.client_id}-state")
        try:
            for n, p in enumerate(partitions):
                publish_from = committed.get((self._topic, p)) or 0
                start = self._restore(reader, p, publish_from)
                first = now + self._checkpoint_s * (n + 1) / len(partitions)
                self.held[p] = Held(start or 0, publish_from, start or -1, first)
                where = OFFSET_BEGINNING if start is None else start
                starts.append(TopicPartition(self._topic, p, where))
        finally:
            reader.close()
        return starts

    def _restore(self, reader: Consumer, p: int, publish_from: int) -> int | None:
        """Partition ``p``'s engine from its newest checkpoint: the offset to read from, or
        None when there is none to use (the engine starts empty: rebuilt from the start).
        ``reader`` is a consumer for the state topic (assigned here, never subscribed)."""
        self.engines.drop(p)
        found = self.retry(
            f"reading the checkpoint of engine partition {p}",
            lambda: checkpoints.latest(reader, self._state_topic, p, self.stop),
        )
        checkpoint = found.checkpoint
        if checkpoint is not None and checkpoint.offset > publish_from:
            log.warning("engine partition %d: checkpoint at %d is ahead of the committed offset "
                        "%d; rebuilding", p, checkpoint.offset, publish_from)  # fmt: skip
            checkpoint = None
        if checkpoint is not None:
            try:
                self.engines.restore(p, checkpoint.state)
            except SnapshotError as err:
                log.warning("engine partition %d: %s; rebuilding from the engine topic", p, err)
                checkpoint = None
        if checkpoint is None:
            log.info("engine partition %d: rebuilt from the start of %s (%s; alerts before "
                     "offset %d were sent already)", p, self._topic, found.note,
                     publish_from)  # fmt: skip
            record_restore("rebuild")
            return None
        log.info("engine partition %d: restored from %s in %.2f s; replaying to offset %d "
                 "without sending alerts", p, found.note, found.read_s, publish_from)  # fmt: skip
        record_restore("checkpoint")
        return checkpoint.offset

    # ------------------------------------------------------------------ metrics

    def _report(self) -> None:
        set_engine_state(*self.engines.sizes())
        if not self.held:
            return
        held = [TopicPartition(self._topic, p) for p in self.held]
        for tp in self.consumer.position(held):  # past the transactions' control records
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            at = max(tp.offset, self.held[tp.partition].next_offset)
            if high >= 0:
                set_consumer_lag(self._topic, tp.partition, high - at)


def _cause_ms(msg: Message) -> int:
    """The cause header of an engine record (its input's timestamp), else its own timestamp."""
    cause = cause_ms(headers(msg))
    return int(msg.timestamp()[1]) if cause is None else cause
