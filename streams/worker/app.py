"""The worker's Faust app: the readers, the reference agent and a marker timer.

Built by ``streams.worker.command`` once the key and the rules configuration
are known; run with ``faust.Worker``. Everything the worker writes goes
through one producer (``Outbox``). Everything that writes to the engine topic
holds one lock, so per engine partition the topic keeps ingest's order and a
marker always follows the records it covers (``docs/watermark.md``).

- the ingest reader (``streams.worker.ingest_reader``, group ``worker_group``)
  reads the three event feeds, and the Faust agent ``reference`` (concurrency
  1, ``shared/known-pitfalls.md``; group ``<worker_group>-reference``) the two
  reference feeds; both hand records to ``Ingest`` (dead letters, engine
  records: ``streams.worker.ingest``), and offsets are committed only after
  the producer is flushed, so input is read at least once.
- the engine reader (``streams.worker.engine_reader``, a plain aiokafka
  consumer in group ``<worker_group>-engine``, started with the app) feeds the
  engine topic to one ``rules.Engine`` per partition (``EngineStage``) and
  publishes the alerts. Its offsets are never committed: a partition newly
  assigned (after a restart, or moved from another worker) is rebuilt from
  the start of the engine topic, repeating earlier alerts with their ids.
- ``tick`` (every 0.2 s) sends watermark markers and idle markers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import faust
from aiokafka import TopicPartition as KafkaPartition
from aiokafka.structs import ConsumerRecord
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException
from confluent_kafka import TopicPartition as CKPartition
from confluent_kafka.admin import AdminClient
from faust.types import TP as FAUST_TP

from rules import RulesConfig, detection_path
from streams.app import create_app
from streams.metrics import (
    ENGINE_RECORDS,
    forget_consumer_lag,
    observe_detection_latency,
    record_alert,
    set_consumer_lag,
    set_engine_state,
)
from streams.settings import Settings
from streams.worker.engine_reader import EngineReader
from streams.worker.engine_stage import CAUSE_HEADER, EngineStage, alert_key
from streams.worker.idleness import SourceTracker
from streams.worker.ingest import (
    STORE_HEADER,
    DeadLetterOut,
    EngineOut,
    Ingest,
    RawRecord,
    source_name,
)
from streams.worker.ingest_reader import IngestReader
from streams.worker.outbox import Outbox

__all__ = ["SESSION_TIMEOUT_S", "TICK_S", "build_app"]

log = logging.getLogger(__name__)


TICK_S = 0.2
"""Interval of the marker timer, seconds."""
REFERENCE_BATCH = 1000
"""Reference records the Faust agent takes at once (then flushes, then acknowledges)."""
REFERENCE_WAIT_S = 0.2
"""Longest wait of the reference agent for a fuller batch, seconds."""
YIELD_EVERY = 200
"""Ingest gives the event loop a turn after this many records of a batch."""
REPORT_S = 2.0
"""Interval of the lag and state-size gauges, seconds."""
SESSION_TIMEOUT_S = 10.0
"""Kafka session time-out: how soon a crashed worker's partitions move to another."""
_STORE = [(STORE_HEADER, b"1")]


def _sources(settings: Settings) -> list[str]:
    """Every input source of the pipeline (all partitions of the five feed topics)."""
    return [
        source_name(topic, p)
        for topic in settings.feed_topics().values()
        for p in range(settings.topic_partitions)
    ]


class _Wiring:
    """The state the agents and the timer share (one per app)."""

    def __init__(self, app: faust.App, settings: Settings, key: bytes, config: RulesConfig):
        self.app = app
        self.settings = settings
        self.inputs = set(settings.feed_topics().values())
        self.references = {settings.topic_risk_areas, settings.topic_venues}
        """Reference topics: read by the Faust agent, the rest by the ingest reader."""
        self.tracker = SourceTracker()
        self.ingest = Ingest(
            settings.feed_topics(), key, config, settings.engine_partitions, self.tracker
        )
        self.stage = EngineStage(config, _sources(settings))
        self.admin = AdminClient(
            {"bootstrap.servers": settings.kafka_bootstrap_servers, "log_level": 2}
        )
        self.reader: IngestReader | None = None
        """The ingest reader, once the app has made it."""
        self.engine_reader: EngineReader | None = None
        """The engine reader, once the app has made it."""
        self._lagging: set[tuple[str, int]] = set()
        self._next_report = 0.0
        self._lock: asyncio.Lock | None = None
        self.outbox = Outbox(settings.kafka_bootstrap_servers)
        """Everything the worker writes goes through this producer."""

    @property
    def lock(self) -> asyncio.Lock:
        """The engine-topic write lock, made in the running loop."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def flush(self) -> None:
        """Wait until everything sent is in Kafka; ``DeliveryError`` if something was lost."""
        await self.outbox.flush()

    def send_engine(self, records: list[EngineOut]) -> None:
        """Queue records for the engine topic, in order (caller holds the lock)."""
        topic, send = self.settings.topic_engine, self.outbox.send
        for r in records:
            send(topic, r.key, r.value, r.partition, r.timestamp, _STORE if r.store else None)

    async def on_records(self, records: Iterable[RawRecord]) -> None:
        """Ingest records, each partition's in order (both readers call it)."""
        async with self.lock:
            for n, record in enumerate(records, 1):
                if n % YIELD_EVERY == 0:  # let the engine reader and the timer run
                    await asyncio.sleep(0)
                out = self.ingest.handle(record, time.monotonic())
                if isinstance(out, DeadLetterOut):
                    topic = self.settings.topic_dead_letter
                    self.outbox.send(topic, out.key, out.value, None, record.timestamp, out.headers)
                else:
                    self.send_engine(out)
        self.outbox.check()

    async def on_batch(self, tp: KafkaPartition, records: list[ConsumerRecord]) -> None:
        """A batch of one event-feed partition (the ingest reader calls it)."""
        await self.on_records(
            RawRecord(
                topic=tp.topic,
                partition=tp.partition,
                offset=m.offset,
                key=m.key,
                value=m.value or b"",
                headers=[(k, bytes(v)) for k, v in m.headers or ()],
                timestamp=m.timestamp / 1000,
            )
            for m in records
        )

    async def on_references(self, messages: Iterable[faust.types.Message]) -> None:
        """Reference records (the Faust agent calls it with a batch), then a flush.

        Faust acknowledges the batch, and so may commit its offsets, only after
        this returns: the flush makes sure everything sent for it is in Kafka
        first (Faust's own commit flushes Faust's producer, not the ``Outbox``).
        """
        await self.on_records(
            RawRecord(
                topic=m.topic,
                partition=m.partition,
                offset=m.offset,
                key=m.key,
                value=m.value or b"",
                headers=_headers(m.headers),
                timestamp=m.timestamp,
            )
            for m in messages
        )
        await self.flush()

    def _held(self) -> dict[str, KafkaPartition]:
        """Every input partition this worker reads now, by source name."""
        held = [*(self.reader.assignment() if self.reader else ())]
        held += [KafkaPartition(tp.topic, tp.partition) for tp in self.app.consumer.assignment()]
        return {source_name(tp.topic, tp.partition): tp for tp in held if tp.topic in self.inputs}

    async def _end_offsets(self, tps: list[KafkaPartition]) -> dict[KafkaPartition, int]:
        """End offsets, asked from whichever consumer reads each partition."""
        feeds = [tp for tp in tps if tp.topic not in self.references]
        refs = [tp for tp in tps if tp.topic in self.references]
        ends: dict[KafkaPartition, int] = {}
        if feeds and self.reader is not None:
            ends.update(await self.reader.consumer.end_offsets(feeds))
        if refs:
            faust_ends = await self.app.consumer.highwaters(*(FAUST_TP(t, p) for t, p in refs))
            ends.update({KafkaPartition(tp.topic, tp.partition): o for tp, o in faust_ends.items()})
        return ends

    def _report(self, mine: dict[str, KafkaPartition]) -> None:
        """Engine state sizes and the lag of every partition read (for ``/metrics``)."""
        set_engine_state(*self.stage.sizes())
        lags: dict[tuple[str, int], int] = {}
        for name, tp in mine.items():
            progress = self.tracker.sources.get(name)
            end: int | None
            if tp.topic in self.references:
                end = self.app.consumer.highwater(FAUST_TP(tp.topic, tp.partition))
            else:
                end = self.reader.consumer.highwater(tp) if self.reader else None
            if end is not None and progress is not None:
                lags[(tp.topic, tp.partition)] = end - (progress.next_offset or 0)
        engine = self.engine_reader
        if engine is not None:
            for tp in engine.assignment():
                end = engine.consumer.highwater(tp)
                if end is not None:
                    lags[(tp.topic, tp.partition)] = end - engine.next_offset.get(tp.partition, 0)
        for topic, partition in self._lagging - lags.keys():
            forget_consumer_lag(topic, partition)
        for (topic, partition), lag in lags.items():
            set_consumer_lag(topic, partition, lag)
        self._lagging = set(lags)

    async def on_tick(self) -> None:
        """Follow the assignment, send due watermarks and idle markers."""
        self.outbox.check()  # a lost record stops the worker
        now = time.monotonic()
        mine = self._held()
        if now >= self._next_report:
            self._next_report = now + REPORT_S
            self._report(mine)
        for name in list(self.tracker.sources):
            if name not in mine:
                del self.tracker.sources[name]
        for name in mine:
            self.tracker.start(name, now)
        async with self.lock:
            self.send_engine(self.ingest.markers())
        candidates = self.tracker.idle_candidates(now)
        idle = [n for n, p in self.tracker.sources.items() if p.idle and p.next_offset is not None]
        asked = [*candidates, *idle]
        if asked:  # end offsets are asked outside the lock: it takes a round trip
            ends = await self._end_offsets([mine[c] for c in asked])
            fresh = [c for c in candidates if self.tracker.sources[c].next_offset is None]
            positions = await asyncio.to_thread(self._committed, [mine[c] for c in fresh])
            await self._idle(candidates, {c: ends.get(mine[c]) for c in asked}, positions, now)

    def _committed(self, tps: list[KafkaPartition]) -> dict[str, int | None]:
        """The group's committed offset of each partition (0 when none), by source.

        For a source nothing was read from since the start: committed at its end
        offset means every record was processed (here or by a worker before).
        None when the broker does not answer (the source is then not idle yet).
        """
        out: dict[str, int | None] = {}
        for group in {self._group_of(tp.topic) for tp in tps}:
            mine = [
                CKPartition(tp.topic, tp.partition)
                for tp in tps
                if self._group_of(tp.topic) == group
            ]
            request = ConsumerGroupTopicPartitions(group, mine)
            try:
                answer = self.admin.list_consumer_group_offsets([request], request_timeout=5)
                parts = answer[group].result().topic_partitions
            except KafkaException as err:
                log.warning("committed offsets unavailable: %s", err)
                out.update({source_name(tp.topic, tp.partition): None for tp in mine})
                continue
            out.update({source_name(t.topic, t.partition): max(t.offset, 0) for t in parts})
        return out

    def _group_of(self, topic: str) -> str:
        """The consumer group that reads ``topic``."""
        return self.app.conf.id if topic in self.references else self.settings.worker_group

    async def _idle(
        self,
        candidates: list[str],
        ends: dict[str, int | None],
        positions: dict[str, int | None],
        now: float,
    ) -> None:
        """Wake idle sources with records waiting; send idle markers for caught-up ones."""
        async with self.lock:
            for name, end in ends.items():
                if name in self.tracker.sources and self.tracker.waiting(name, end):
                    self.send_engine(self.ingest.wake(name))
            self.send_engine(self.ingest.markers())
            for name in candidates:
                progress = self.tracker.sources.get(name)
                if progress is None or progress.idle or progress.last_read > now:
                    continue  # revoked, or read from since the candidates were chosen
                if self.tracker.is_caught_up(name, ends[name], positions.get(name)):
                    self.send_engine(self.ingest.idle(name))
                    log.info("source %s is idle", name)

    async def on_engine(self, partition: int, offset: int, value: bytes, cause: float) -> None:
        """Feed one engine-topic record to its partition's engine; send the alerts.

        ``cause`` is the record's Kafka timestamp (seconds): the input record's,
        or the marker's sending time (``EngineOut.timestamp``).
        """
        alerts = self.stage.handle(partition, value)
        ENGINE_RECORDS.inc()
        if not alerts:
            return
        headers = [(CAUSE_HEADER, str(round(cause * 1000)).encode())]
        topic = self.settings.topic_alerts
        for alert in alerts:
            self.outbox.send(
                topic, alert_key(alert), alert.model_dump_json().encode(), None, None, headers
            )
            record_alert(alert.rule, alert.severity)
            path = detection_path(alert.rule, alert.severity)
            observe_detection_latency(path, time.time() - cause)


def _headers(headers: object) -> list[tuple[str, bytes]]:
    """A Faust message's headers as a list of pairs, whatever form Faust gives them in."""
    if isinstance(headers, dict):
        return [(str(k), bytes(v)) for k, v in headers.items()]
    if isinstance(headers, list | tuple):
        return [(str(k), bytes(v)) for k, v in headers]
    return []


def build_app(settings: Settings, key: bytes, config: RulesConfig, datadir: Path) -> faust.App:
    """The worker's Faust app; topics must exist (``declare_worker_topics``).

    ``datadir`` is Faust's working folder (it keeps nothing there with the
    in-memory store, but creates it).
    """
    app = create_app(
        settings, app_id=f"{settings.worker_group}-reference", partitions=settings.engine_partitions
    )
    app.conf.datadir = datadir / f"{settings.worker_group}-data"
    # A worker killed without leaving the group holds its partitions this long.
    app.conf.broker_session_timeout = SESSION_TIMEOUT_S
    # Faust's consumer reads only the reference topics; no leader topic needed.
    app.conf.topic_disable_leader = True
    wiring = _Wiring(app, settings, key, config)
    references = app.topic(
        *sorted(wiring.references),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    @app.agent(references, concurrency=1, name="reference")
    async def reference(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare take_events()
        async for events in stream.take_events(REFERENCE_BATCH, within=REFERENCE_WAIT_S):
            await wiring.on_references(event.message for event in events)

    wiring.reader = IngestReader(
        settings.kafka_bootstrap_servers,
        sorted(wiring.inputs - wiring.references),
        settings.worker_group,
        SESSION_TIMEOUT_S,
        handle=wiring.on_batch,
        flush=wiring.flush,
    )
    reader = wiring.engine_reader = EngineReader(
        settings.kafka_bootstrap_servers,
        settings.topic_engine,
        f"{settings.worker_group}-engine",
        SESSION_TIMEOUT_S,
        handle=wiring.on_engine,
        forget=wiring.stage.drop,
    )

    async def start_engine_reader() -> None:
        assert wiring.reader is not None
        await app.add_runtime_dependency(wiring.reader)
        await app.add_runtime_dependency(reader)

    app.task(start_engine_reader)

    # SINK WIRING: the ClickHouse sink (streams.sink) starts here with the app.
    if settings.sink_enabled:
        from streams.sink import SinkService

        sink = SinkService(settings, session_timeout_s=SESSION_TIMEOUT_S)

        async def start_sink() -> None:
            await app.add_runtime_dependency(sink)

        app.task(start_sink)

    async def tick() -> None:
        await wiring.on_tick()

    app.timer(interval=TICK_S)(tick)

    return app
