"""``Stage``: one member of a consumer group, read in batches on a thread of its own.

The base of the worker's three readers: ingest, the engines and the sink
(``streams.worker``, ``streams.sink``). The worker's runtime
(``streams.worker.runtime``) runs each stage's ``run`` on its own thread;
librdkafka calls the rebalance hooks from inside ``consume``, on that same
thread, so a stage never shares its state with another thread.

A subclass implements ``handle`` (a batch of records, in each partition's
order) and may implement ``open`` (before subscribing), ``after_poll``
(after every poll, records or not), ``assigned``, ``revoked``, ``lost``
(partitions taken away without a chance to commit: the group moved on while
this member was cut off or stopped) and ``close`` (last commit before the
consumer leaves). Records whose poll returned an error are logged (at most
once per ten seconds and kind) and skipped: librdkafka reports a broker
outage this way and keeps retrying by itself; a fatal error raises.

An exception from a hook stops the stage; the runtime then stops the worker
(a bug, or a refusal such as missing rights, is never skipped silently).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from streams.kafka.clients import consumer
from streams.kafka.transactions import StopRequested
from streams.settings import Settings

__all__ = ["BATCH", "POLL_S", "Stage", "headers"]

log = logging.getLogger(__name__)

BATCH: Final = 5000
"""Records per ``consume``: the most a stage handles between two looks at its clock."""
POLL_S: Final = 0.05
"""Longest wait of one poll: how soon a stage with nothing to read commits and ticks."""
_T = TypeVar("_T")
_ERROR_LOG_S: Final = 10.0
_CALL_TIMEOUT_S: Final = 5.0


class Stage:
    """A consumer-group reader on its own thread; see the module docstring."""

    name = "stage"
    """Thread name and log prefix (``ingest``, ``engine``, ``sink``)."""
    needed_for_ready = True
    """Whether the worker waits for this stage before it says it is ready."""

    def __init__(
        self,
        settings: Settings,
        group: str,
        topics: Sequence[str],
        client_id: str,
        stop: threading.Event,
        **overrides: Any,
    ) -> None:
        """The consumer is made in ``run``, on the stage's thread."""
        self.settings = settings
        self.group = group
        self.topics = list(topics)
        self.client_id = client_id
        self.stop = stop
        self._overrides = overrides
        self._consumer: Consumer | None = None
        self._errors_logged: dict[int, float] = {}
        self._committed: dict[tuple[str, int], int] = {}
        self.ready = threading.Event()
        """Set once the stage has its first assignment (possibly empty) and has taken it on."""

    @property
    def consumer(self) -> Consumer:
        """The stage's consumer (only while ``run`` runs)."""
        if self._consumer is None:
            raise RuntimeError(f"the {self.name} stage is not running")
        return self._consumer

    def run(self) -> None:
        """Read until ``stop`` is set; the body of the stage's thread."""
        self._consumer = consumer(self.settings, self.group, self.client_id, **self._overrides)
        try:
            self.open()
            self._consumer.subscribe(
                self.topics,
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            while not self.stop.is_set():
                batch = self._consumer.consume(BATCH, self.poll_timeout())
                if batch:
                    self.handle(self._good(batch))
                self.after_poll()
        except StopRequested:
            pass
        finally:
            try:
                self.close()
            except StopRequested:
                pass
            finally:
                self._consumer.close()  # leaves the group (``revoked`` first)
                self._consumer = None

    def _good(self, batch: list[Message]) -> list[Message]:
        """The records of a batch; errors logged (throttled) or raised when fatal."""
        if all(msg.error() is None for msg in batch):
            return batch
        good = []
        for msg in batch:
            err = msg.error()
            if err is None:
                good.append(msg)
                continue
            if err.fatal():
                raise KafkaException(err)
            now = time.monotonic()
            if now >= self._errors_logged.get(err.code(), 0.0):
                self._errors_logged[err.code()] = now + _ERROR_LOG_S
                log.warning("%s: Kafka reports %s (retrying)", self.name, err.str())
        return good

    # ------------------------------------------------------------------ offsets

    def committed(self, partitions: Sequence[TopicPartition]) -> dict[tuple[str, int], int | None]:
        """The group's committed offset of each partition (None: none yet), by (topic, partition).

        Waits for the broker (a committed transaction's offsets are read only
        once stable); raises ``StopRequested`` if the stage stops first.
        """
        if not partitions:
            return {}
        asked = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        answer = self.retry(
            "reading committed offsets",
            lambda: self.consumer.committed(asked, timeout=_CALL_TIMEOUT_S),
        )
        return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None for tp in answer}

    def retry(self, what: str, call: Callable[[], _T]) -> _T:
        """``call()`` until Kafka answers (a broker outage is waited out, logged once).

        A fatal error raises; ``StopRequested`` when the stage stops first.
        """
        warned = False
        while True:
            try:
                result = call()
            except KafkaException as err:
                if err.args[0].fatal():
                    raise
                if not warned:
                    log.warning("%s: %s failed (%s), retrying until Kafka answers",
                                self.name, what, err.args[0].str())  # fmt: skip
                    warned = True
                if self.stop.wait(1.0):
                    raise StopRequested(what) from None
                continue
            if warned:
                log.info("%s: %s done, Kafka answers again", self.name, what)
            return result

    def commit_offsets(self, read: dict[tuple[str, int], int]) -> list[TopicPartition]:
        """The offsets to commit for what was ``read``, moved past skipped control records.

        For stages that have handled every record ``consume`` returned (ingest,
        engine): the consumer's position is then the offset after the last
        record handled, or past the control records that end the transactions
        upstream, which take offsets but are never delivered. Committing the
        position lets a reader's committed offset reach the end of a partition.
        Partitions held but not in ``read`` are included when their position
        moved past the last commit (only control records came).
        """
        out = dict(read)
        out.update(self._moved(out))
        self._committed.update(out)
        return [TopicPartition(t, p, o) for (t, p), o in out.items()]

    def moved_past_commit(self) -> bool:
        """Whether a held partition's position is past its last commit (only control
        records came since): a commit of offsets alone then lets its lag reach 0."""
        return bool(self._moved({}))

    def _moved(self, read: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        held = self.consumer.assignment()
        moved: dict[tuple[str, int], int] = {}
        for tp in self.consumer.position(held) if held else ():
            key = (tp.topic, tp.partition)
            last = max(read.get(key, -1), self._committed.get(key, -1))
            if tp.offset >= 0 and tp.offset > last:
                moved[key] = tp.offset
        return moved

    def forget_commits(self) -> None:
        """After an abort: what ``commit_offsets`` last handed out was not committed."""
        self._committed.clear()

    def seek(self, topic: str, partition: int, offset: int | None) -> None:
        """Read ``topic/partition`` next from ``offset`` (None: from its start)."""
        where = OFFSET_BEGINNING if offset is None else offset
        self.consumer.seek(TopicPartition(topic, partition, where))

    # ------------------------------------------------------------------ rebalance

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("%s: assigned %s", self.name, _names(partitions))
        self._committed.clear()
        self.assigned(partitions)
        self.ready.set()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.revoked(partitions)  # partitions lost without a revoke go to _on_lost

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("%s: lost %s (the group moved on without this worker)",
                    self.name, _names(partitions))  # fmt: skip
        self._committed.clear()
        self.lost(partitions)

    # ------------------------------------------------------------------ hooks

    def open(self) -> None:
        """Before subscribing (e.g. register the transactional producer)."""

    def handle(self, batch: list[Message]) -> None:
        """Records, each partition's in order."""
        raise NotImplementedError

    def after_poll(self) -> None:
        """After every poll, records or not."""

    def poll_timeout(self) -> float:
        """Seconds the next poll may wait for records (``POLL_S``; a stage whose
        commit falls due sooner returns less)."""
        return POLL_S

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """A new assignment: all partitions held from now on. ``consumer.assign`` may be
        called here with start offsets; otherwise each starts at its committed offset."""

    def revoked(self, partitions: list[TopicPartition]) -> None:
        """Partitions about to go (every partition: the assignment is eager): commit."""

    def lost(self, partitions: list[TopicPartition]) -> None:
        """Partitions already gone: drop what was not committed."""

    def close(self) -> None:
        """Before the consumer leaves the group: last commit."""


def headers(msg: Message) -> list[tuple[str, bytes]]:
    """A record's headers as (name, value) pairs (librdkafka gives a list; absent: empty)."""
    raw = msg.headers()
    if not raw:
        return []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(k, v if isinstance(v, bytes) else (v or "").encode()) for k, v in pairs]


def _names(partitions: Sequence[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}/{tp.partition}" for tp in partitions) or "nothing"
