"""The ingest stage: the five input topics into the engine topic and the dead letters.

Run by the worker's runtime (``streams.worker.runtime``) on a thread of its
own. Consumer group ``settings.worker_group``: workers of one group split the
input partitions. Each record goes through ``Ingest.handle`` (decode, dead
letter, pseudonymise, route: ``streams.worker.ingest``); what it makes is
sent in a Kafka transaction (``streams.kafka.transactions``) committed with
the input offsets at most every ``commit_interval_ms``: the engine stage and
the sink read the engine topic with read_committed, so each input record
reaches them exactly once, whatever crashes, and so does each dead letter.

Every ``TICK_S`` the stage also sends watermark and idle markers
(``streams.worker.idleness``, ``docs/worker.md``) in the same transaction,
after the records they cover, and updates the lag gauges of its partitions.

When a transaction has to be aborted, the stage rewinds: its consumer goes
back to the committed offsets and its source tracker starts afresh (a source
not heard from since is announced again before its first record).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaException, Message, TopicPartition

from rules import RulesConfig
from streams.kafka.stage import headers
from streams.kafka.transactional import TransactionalStage
from streams.settings import Settings
from streams.wire import STORE, cause_header, source_name
from streams.worker.exporting import export_ingest, forget_consumer_lag, set_consumer_lag
from streams.worker.idleness import SourceTracker
from streams.worker.ingest import DeadLetterOut, EngineOut, Ingest, RawRecord

__all__ = ["REPORT_S", "TICK_S", "IngestStage"]

log = logging.getLogger(__name__)

TICK_S: Final = 0.2
"""Interval of the markers (watermarks, idleness)."""
REPORT_S: Final = 2.0
"""Interval of the lag gauges."""


class IngestStage(TransactionalStage):
    """Reads the input topics and writes the engine topic; see the module docstring."""

    name = "ingest"

    def __init__(
        self,
        settings: Settings,
        key: bytes,
        config: RulesConfig,
        worker_id: str,
        stop: threading.Event,
    ) -> None:
        """``key``: the pseudonym secret; ``worker_id``: this worker's stable name."""
        ident = f"{settings.worker_group}-ingest-{worker_id}"
        topics = sorted(set(settings.feed_topics().values()))
        super().__init__(
            settings, settings.worker_group, topics, ident, stop, **{"fetch.wait.max.ms": 50}
        )
        self.tracker = SourceTracker()
        self.ingest = Ingest(
            settings.feed_topics(), key, config, settings.engine_partitions, self.tracker,
            settings.clean_topics(),
        )  # fmt: skip
        self._engine_topic = settings.topic_engine
        self._dead_letter_topic = settings.topic_dead_letter
        self._next_tick = 0.0
        self._next_report = 0.0
        self._lagging: set[tuple[str, int]] = set()

    # ------------------------------------------------------------------ records

    def handle(self, batch: list[Message]) -> None:
        """Ingest every record; queue what it becomes in the open transaction."""
        now = time.monotonic()
        ingest, send, read = self.ingest.handle, self.txn.send, self.ledger.read
        for msg in batch:
            topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
            kind, stamp_ms = msg.timestamp()
            stamp = None if kind == TIMESTAMP_NOT_AVAILABLE else stamp_ms
            record = RawRecord(
                topic,
                partition,
                offset,
                msg.key(),
                msg.value() or b"",
                headers(msg),
                None if stamp is None else stamp / 1000,
            )
            out = ingest(record, now)
            if isinstance(out, DeadLetterOut):  # keeps the rejected record's timestamp
                send(self._dead_letter_topic, out.value, out.key, -1, out.headers, stamp or 0)
            else:
                self._send_engine(out)
            read((topic, partition), offset + 1)
        export_ingest(self.ingest.take_counts())

    def _send_engine(self, records: list[EngineOut]) -> None:
        """Queue engine records: the cause header on copies of input, the store header on one."""
        send, topic = self.txn.send, self._engine_topic
        cause: list[tuple[str, bytes]] | None = None
        for r in records:
            if r.timestamp is None:  # a marker
                send(topic, r.value, r.key, r.partition)
                continue
            if r.topic is not None:  # the event's clean-topic record, for downstream readers
                send(r.topic, r.value, r.key, -1, None, round(r.timestamp * 1000))
                continue
            if cause is None:
                cause = [cause_header(round(r.timestamp * 1000))]
            send(topic, r.value, r.key, r.partition, [*cause, STORE] if r.store else cause)

    def after_poll(self) -> None:
        """Markers every ``TICK_S``; a commit once one is due (``Transactions.due``)."""
        now = time.monotonic()
        if now >= self._next_tick:
            self._next_tick = now + TICK_S
            self._tick(now)
        # Offsets alone are committed too: records handled, or control records skipped since.
        due = self.txn.due(self.ledger.pending) or (
            not self.txn.open and self.txn.due(True) and self.moved_past_commit()
        )
        if due and not self.commit():
            self._rewind()

    def _rewind(self) -> None:
        """Back to the committed offsets, with a fresh tracker (after an abort)."""
        held = self.consumer.assignment()
        for (topic, partition), offset in self.committed(held).items():
            self.seek(topic, partition, offset)
        self.tracker.forget(list(self.tracker.sources))
        now = time.monotonic()
        for tp in held:
            self.tracker.start(source_name(tp.topic, tp.partition), now)
        log.info("ingest rewound %d partitions to their committed offsets", len(held))

    # ------------------------------------------------------------------ rebalance

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Track every partition afresh: it starts at its committed offset."""
        now = time.monotonic()
        for tp in partitions:
            self.tracker.start(source_name(tp.topic, tp.partition), now)

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Commit what was read, so the next owner goes on from there; forget the sources."""
        self.commit()
        self._forget(partitions)

    def lost(self, partitions: list[TopicPartition]) -> None:
        """Abort: the new owner reads those records again from the committed offsets."""
        self.abort_lost()
        self._forget(partitions)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        self.ledger.revoke((tp.topic, tp.partition) for tp in partitions)
        self.tracker.forget([source_name(tp.topic, tp.partition) for tp in partitions])
        for tp in partitions:
            if (tp.topic, tp.partition) in self._lagging:
                forget_consumer_lag(tp.topic, tp.partition)
                self._lagging.discard((tp.topic, tp.partition))

    def close(self) -> None:
        """Commit what was read (the runtime is stopping)."""
        if self._consumer is not None and self.uncommitted:
            self.commit()
        self.txn.close()

    # ------------------------------------------------------------------ markers

    def _tick(self, now: float) -> None:
        """Watermark markers, idle markers, revived sources and the lag gauges."""
        held = {source_name(tp.topic, tp.partition): tp for tp in self.consumer.assignment()}
        ends = self._ends(held)
        positions = self._positions(held)
        if now >= self._next_report:
            self._next_report = now + REPORT_S
            self._report(held, ends, positions)
        self._send_engine(self.ingest.markers())
        tracker = self.tracker
        for name, end in ends.items():
            if name in tracker.sources and tracker.waiting(name, end):
                self._send_engine(self.ingest.wake(name))
        candidates = tracker.idle_candidates(now)
        if not candidates:
            return
        fresh = [held[c] for c in candidates if tracker.sources[c].next_offset is None]
        committed = {source_name(t, p): o for (t, p), o in self._committed_or_none(fresh).items()}
        for name in candidates:
            if tracker.is_caught_up(name, ends.get(name), committed.get(name)):
                self._send_engine(self.ingest.idle(name))
                log.info("source %s is idle", name)

    def _ends(self, held: dict[str, TopicPartition]) -> dict[str, int | None]:
        """Each held partition's end offset as of the consumer's last fetch (no round trip)."""
        ends: dict[str, int | None] = {}
        for name, tp in held.items():
            _, high = self.consumer.get_watermark_offsets(tp, cached=True)
            ends[name] = high if high >= 0 else None
        return ends

    def _positions(self, held: dict[str, TopicPartition]) -> dict[str, int]:
        """The consumer's position in each held partition (where known), by source.

        Also moves each read source's next offset past what the consumer
        skipped (control records of transactions upstream), so a source at its
        end is seen as caught up.
        """
        if not held:
            return {}
        positions: dict[str, int] = {}
        for tp in self.consumer.position(list(held.values())):
            if tp.offset < 0:
                continue
            name = source_name(tp.topic, tp.partition)
            positions[name] = tp.offset
            progress = self.tracker.sources.get(name)
            if progress is not None and progress.next_offset is not None:
                progress.next_offset = max(progress.next_offset, tp.offset)
        return positions

    def _committed_or_none(self, tps: list[TopicPartition]) -> dict[tuple[str, int], int | None]:
        """Committed offsets, or nothing when the broker does not answer at once."""
        if not tps:
            return {}
        try:
            answer = self.consumer.committed(tps, timeout=2)
        except KafkaException:  # unknown means "not idle yet": asked again next tick
            return {}
        return {(tp.topic, tp.partition): max(tp.offset, 0) for tp in answer}

    def _report(
        self,
        held: dict[str, TopicPartition],
        ends: dict[str, int | None],
        positions: dict[str, int],
    ) -> None:
        lags: set[tuple[str, int]] = set()
        for name, tp in held.items():
            end, position = ends.get(name), positions.get(name)
            if end is None or position is None:
                continue
            set_consumer_lag(tp.topic, tp.partition, end - position)
            lags.add((tp.topic, tp.partition))
        for topic, partition in self._lagging - lags:
            forget_consumer_lag(topic, partition)
        self._lagging = lags
