"""``Transactions``: one stage's records and its input offsets, committed to Kafka together.

Used by the worker's ingest and engine stages, one each (``streams.worker``).
A stage ``send`` s what it makes from the records it read (a transaction is
begun on the first record), and ``commit`` s with the offsets after those
records (``streams.kafka.commits``): Kafka makes the records visible to
read_committed readers and moves the stage's consumer group to those offsets
in one step, or does neither. So after a crash, a kill or a rebalance a
reader sees each record once: what an aborted or abandoned transaction wrote
is never visible, and its input is read again from the committed offsets.

The transactional id is stable across restarts (``<group>-<stage>-<worker
id>``): a worker restarted under the same id fences its killed predecessor
and aborts what it left open at once (otherwise the broker aborts it after
``TRANSACTION_TIMEOUT_S``). Since KIP-447 offsets are fenced by the consumer
group's generation, so one transactional producer per consumer suffices and
a worker that lost its partitions (stopped, cut off) cannot commit for them.

Failures: ``commit`` returns False when the transaction had to be aborted
(the broker aborted it after a time-out or an outage, the group moved on, a
record was refused, the producer was fenced); the stage must then rewind its
consumer to the committed offsets and its state to what they cover. While the
broker is unreachable ``start`` and ``commit`` keep retrying (logged once
per outage) until it answers or the stage is asked to stop.

Over 400 lines: one transaction's life (begin, send, commit or abort, the
retries and the fencing, the watchdog of a stuck commit) is one state that
only reads correctly in one place; the parts that are not (the client, the
commit policy) live in ``clients`` and ``commits``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition

from streams.kafka.clients import TRANSACTION_TIMEOUT_S, producer
from streams.settings import Settings

__all__ = ["StopRequested", "Transactions"]

log = logging.getLogger(__name__)

_CALL_TIMEOUT_S: Final = 5.0
"""One attempt of a blocking transaction call; retried while the broker is away."""
_STUCK_S: Final = _CALL_TIMEOUT_S + 10.0
"""A transactional call still running this long is stuck (see ``Transactions._bounded``)."""
_POLL_MASK: Final = 1023
"""Serve delivery reports every 1,024 records."""


class StopRequested(Exception):  # noqa: N818 - a signal, not an error
    """The stage was asked to stop while waiting for the broker (the caller unwinds)."""


class Transactions:
    """A transactional producer of one stage; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        transactional_id: str,
        stop: threading.Event,
        **overrides: Any,
    ) -> None:
        """The producer is made now and connects in ``start``; ``stop`` ends retries."""
        self.transactional_id = transactional_id
        self.interval = settings.commit_interval_ms / 1000
        """The commit cadence: a stage commits at most this often (``due``)."""
        self._last_commit = time.monotonic()
        self._make: Callable[[], Producer] = lambda: producer(
            settings,
            transactional_id,
            transactional_id,
            **{"delivery.report.only.error": True, "on_delivery": self._report, **overrides},
        )
        self._stop = stop
        self._producer = self._make()
        self._open = False
        self._began = 0.0
        self._sent = 0
        self._failure: str | None = None
        self._replaced: list[float] = []
        self._abandoned: list[Producer] = []
        self._caller: _Caller | None = None
        self.commits = 0
        """Transactions committed."""
        self.aborts = 0
        """Transactions aborted."""

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Register the transactional id (fencing any earlier producer of it).

        Retries while the broker does not answer; raises ``StopRequested`` if
        the stage stops first, ``KafkaException`` for a refusal (e.g. not
        authorised), which stops the worker.
        """
        with contextlib.suppress(_Doomed):  # the producer was replaced: the new one registered
            self._retry(
                "registering the transactional id",
                lambda: self._bounded(self._producer.init_transactions),
            )

    def close(self) -> None:
        """Abort an open transaction (bounded) and let the producer go."""
        if self._open:
            try:
                self._producer.abort_transaction(_CALL_TIMEOUT_S)
            except KafkaException as err:
                log.warning("open transaction of %s not aborted at close (%s): the broker "
                            "aborts it after its time-out", self.transactional_id, err)  # fmt: skip
            self._open = False
        self._producer.flush(0)

    # ---------------------------------------------------------------- records

    @property
    def open(self) -> bool:
        """Whether a transaction is open (something was sent since the last commit)."""
        return self._open

    def due(self, pending: bool) -> bool:
        """Whether the stage commits now: there is something to commit (a transaction
        is open, or ``pending`` offsets) and ``interval`` passed since the last commit.

        The cadence runs from the last commit, not from the first record of the
        next transaction: under a steady feed a stage commits every ``interval``,
        and the first record after a quiet spell is committed at once.
        """
        return (self._open or pending) and time.monotonic() - self._last_commit >= self.interval

    def wait_s(self, pending: bool, longest: float) -> float:
        """How long the stage may wait for more records before ``due`` (at most ``longest``).

        The stage's poll time-out (``Stage.poll_timeout``): records read while
        a commit is due would only wait for the next poll.
        """
        if not (self._open or pending):
            return longest
        left = self.interval - (time.monotonic() - self._last_commit)
        return min(max(left, 0.0), longest)

    def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: int = -1,
        headers: list[tuple[str, Any]] | None = None,
        timestamp_ms: int = 0,
    ) -> None:
        """Queue one record in the transaction (begun here if none is open).

        ``partition`` -1: by key; ``timestamp_ms`` 0: now. Waits (serving
        reports) while librdkafka's queue is full. A record refused at once
        dooms the transaction: ``commit`` then aborts it. Called for every
        record a stage writes: kept to one librdkafka call.
        """
        if not self._open:
            self._producer.begin_transaction()
            self._open, self._began = True, time.monotonic()
        try:
            self._producer.produce(
                topic, value, key, partition, timestamp=timestamp_ms, headers=headers
            )
        except BufferError:  # full queue: let deliveries drain it
            self._send_when_room(topic, value, key, partition, headers, timestamp_ms)
        except KafkaException as err:
            self._failure = self._failure or f"{topic}: {err.args[0].str()}"
            return
        self._sent += 1
        if not self._sent & _POLL_MASK:
            self._producer.poll(0)

    def _send_when_room(
        self,
        topic: str,
        value: bytes,
        key: bytes | None,
        partition: int,
        headers: Any,
        timestamp_ms: int,
    ) -> None:
        while True:
            self._producer.poll(0.05)
            try:
                self._producer.produce(
                    topic, value, key, partition, timestamp=timestamp_ms, headers=headers
                )
                return
            except BufferError:
                continue
            except KafkaException as err:
                self._failure = self._failure or f"{topic}: {err.args[0].str()}"
                return

    def _report(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None and self._failure is None:
            self._failure = f"{msg.topic()}[{msg.partition()}]: {err.str()}"

    # ---------------------------------------------------------------- commit

    def commit(self, offsets: list[TopicPartition], group: Any) -> bool:
        """Commit the open transaction with ``offsets`` of the consumer group ``group``.

        ``group`` is the stage consumer's ``consumer_group_metadata()``. Returns
        True when the records and the offsets are committed (also when there
        was nothing to commit), False when the transaction was aborted instead:
        the caller rewinds. Raises ``StopRequested`` when stopping while the
        broker is away (the transaction is then abandoned: the broker aborts it).
        """
        if not self._open and not offsets:
            return True
        if not self._open:
            self._producer.begin_transaction()
            self._open, self._began = True, time.monotonic()
        # Past the broker's time-out the transaction is aborted anyway: give up on it then.
        deadline = self._began + TRANSACTION_TIMEOUT_S + _CALL_TIMEOUT_S
        try:
            if self._failure is not None:
                raise _Doomed(self._failure)
            if offsets:
                self._retry(
                    "committing offsets",
                    lambda: self._bounded(
                        lambda timeout: self._producer.send_offsets_to_transaction(
                            offsets, group, timeout
                        )
                    ),
                    deadline,
                )
            self._retry(
                "committing",
                lambda: self._bounded(self._producer.commit_transaction),
                deadline,
            )
        except _Doomed as why:
            if why.replaced:  # a new producer: the broker aborts what the old one had open
                log.warning("transaction of %s abandoned (%s); its input is read again",
                            self.transactional_id, why)  # fmt: skip
                self.aborts += 1
            else:
                self._abort(str(why))
            self._last_commit = time.monotonic()
            return False
        self._open = False
        self.commits += 1
        self._last_commit = time.monotonic()
        return True

    def abort(self, why: str) -> None:
        """Abort the open transaction (the caller rewinds); ``why`` is logged."""
        if self._open:
            self._abort(why)

    def _abort(self, why: str) -> None:
        log.warning("transaction of %s aborted (%s); its input is read again",
                    self.transactional_id, why)  # fmt: skip
        self.aborts += 1
        self._failure = None
        deadline = time.monotonic() + TRANSACTION_TIMEOUT_S
        with contextlib.suppress(_Doomed):  # fatal or too long: _retry made a new producer
            self._retry(
                "aborting", lambda: self._bounded(self._producer.abort_transaction), deadline
            )
        self._open = False

    def _retry(self, what: str, call: Callable[[], None], deadline: float | None = None) -> None:
        """``call`` until it succeeds; retriable errors wait for the broker.

        An error that dooms the transaction raises ``_Doomed``; a fatal one
        (fenced, or the broker lost the producer's state), or retriable ones
        until ``deadline`` (monotonic), first replace the producer by a new one
        under the same id (which aborts what the old one left open), then raise
        ``_Doomed``.
        """
        warned = False
        while True:
            try:
                call()
                if warned:
                    log.info("Kafka answers again: %s %s", what, self.transactional_id)
                return
            except _Stuck as stuck:
                log.error("producer %s stuck %s for %.0f s (a librdkafka bug: a coordinator "
                          "request that ignores its time-out); giving it up",
                          self.transactional_id, what, _STUCK_S)  # fmt: skip
                self._abandon()
                raise _Doomed(f"{what}: stuck", replaced=True) from stuck
            except KafkaException as exc:
                err: KafkaError = exc.args[0]
                if err.fatal():
                    self._replace(err)
                    raise _Doomed(err.str(), replaced=True) from exc
                if err.txn_requires_abort():
                    raise _Doomed(err.str()) from exc
                if not err.retriable():
                    raise
                if deadline is not None and time.monotonic() > deadline:
                    self._replace(err)
                    raise _Doomed(f"{what}: {err.str()}", replaced=True) from exc
                if not warned:
                    log.warning("Kafka does not answer (%s): %s %s, retrying until it does",
                                err.str(), what, self.transactional_id)  # fmt: skip
                    warned = True
            if self._stop.is_set():
                raise StopRequested(what)

    def _bounded(self, call: Callable[[float], object]) -> None:
        """``call(_CALL_TIMEOUT_S)`` on the caller thread, given up after ``_STUCK_S``.

        librdkafka's transactional calls take a time-out, but some coordinator
        requests ignore it and can wait for ever after a broker restart
        (librdkafka issue #5456, open): the stage would stop polling and its
        group would rebalance without it. A call still running after
        ``_STUCK_S`` raises ``_Stuck``; the producer is then given up.
        """
        if self._caller is None:
            self._caller = _Caller(self.transactional_id)
        self._caller.call(lambda: call(_CALL_TIMEOUT_S), _STUCK_S)

    def _abandon(self) -> None:
        """Leave a stuck producer (and its caller thread) behind; start a new one."""
        self._abandoned.append(self._producer)  # never used again, never destroyed here
        if len(self._abandoned) > 3:
            raise KafkaException(
                KafkaError(
                    KafkaError._FATAL, f"{self.transactional_id}: producers keep getting stuck"
                )
            )
        self._caller = None
        self._open = False
        self._failure = None
        self._producer = self._make()
        self.start()

    def _replace(self, err: KafkaError) -> None:
        """A new producer under the same id (fenced after a time-out, or state lost).

        Raises ``KafkaException`` when it keeps happening (3 times in a minute):
        then another running worker has the same name, and they would fence each
        other for ever; the worker stops and says so.
        """
        now = time.monotonic()
        self._replaced = [t for t in self._replaced if now - t < 60.0] + [now]
        if len(self._replaced) > 3:
            log.error("producer %s fenced %d times in a minute: another worker runs under the "
                      "same name? Give each its own CONTROLFEED_WORKER_ID", self.transactional_id,
                      len(self._replaced))  # fmt: skip
            raise KafkaException(err)
        log.warning("producer %s cannot go on (%s): starting a new one under the same id",
                    self.transactional_id, err.str())  # fmt: skip
        with contextlib.suppress(KafkaException):
            self._producer.purge()  # what the old one still held belongs to the aborted txn
        self._open = False
        self._failure = None
        self._producer = self._make()
        self.start()


class _Stuck(Exception):  # noqa: N818 - internal signal
    """A call to librdkafka did not return in time."""


class _Caller:
    """One daemon thread that runs blocking calls for a producer, one at a time."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], _Result]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name=f"{name}-calls", daemon=True).start()

    def _run(self) -> None:
        while True:
            job, result = self._jobs.get()
            try:
                job()
            except BaseException as err:  # noqa: BLE001 - handed to the caller, raised there
                result.error = err
            result.done.set()

    def call(self, job: Callable[[], object], timeout: float) -> None:
        """Run ``job`` on the thread; its exception is raised here; ``_Stuck`` after ``timeout``."""
        result = _Result()
        self._jobs.put((job, result))
        if not result.done.wait(timeout):
            raise _Stuck()
        if result.error is not None:
            raise result.error


class _Result:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None


class _Doomed(Exception):  # noqa: N818 - internal signal
    """The open transaction cannot commit: abort it (unless the producer was replaced)."""

    def __init__(self, reason: str, replaced: bool = False) -> None:
        super().__init__(reason)
        self.replaced = replaced
