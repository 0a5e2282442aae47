"""The worker's Faust app: an ingest agent, an engine agent and a marker timer.

Built by ``streams.worker.command`` once the key and the rules configuration
are known; run with ``faust.Worker``. Both agents run with concurrency 1
(``shared/known-pitfalls.md``). Everything that writes to the engine topic
holds one lock, so per engine partition the topic keeps ingest's order and a
marker always follows the records it covers (``docs/watermark.md``).

- ``ingest`` reads the five input topics, sends dead letters and engine
  records (``streams.worker.ingest``); its offsets are committed by Faust after
  the producer is flushed, so input is read at least once.
- ``engine`` reads the engine topic *without acknowledging* it: its offsets are
  never committed, so a restarted (or newly assigned) partition is rebuilt
  from the start of the engine topic, repeating earlier alerts with their ids.
  Engines are kept when partitions are revoked: a partition that comes back
  is read again from its start, which a kept engine takes as duplicates; an
  engine dropped while the consumer keeps its position would miss records.
- ``tick`` (every 0.2 s) sends watermark markers and idle markers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import faust
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from faust.types import TP
from prometheus_client import Counter

from rules import RulesConfig, detection_path
from streams.app import create_app
from streams.metrics import observe_detection_latency, record_alert
from streams.settings import Settings
from streams.worker.engine_stage import EngineStage, alert_key
from streams.worker.idleness import SourceTracker
from streams.worker.ingest import DeadLetterOut, EngineOut, Ingest, RawRecord, source_name

__all__ = ["CAUSE_HEADER", "SESSION_TIMEOUT_S", "TICK_S", "build_app"]

log = logging.getLogger(__name__)

TICK_S = 0.2
"""Interval of the marker timer, seconds."""
SESSION_TIMEOUT_S = 10.0
"""Kafka session time-out: how soon a crashed worker's partitions move to another."""
CAUSE_HEADER = "controlfeed.cause.timestamp"
"""Alert header: Kafka timestamp (ms) of the input record (or marker) that raised it."""

ENGINE_RECORDS = Counter("controlfeed_engine_records", "Engine-topic records processed.")


def _raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    return app.topic(
        *names, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


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
        self.engine_topic = _raw_topic(app, settings.topic_engine)
        self.tracker = SourceTracker()
        self.ingest = Ingest(
            settings.feed_topics(), key, config, settings.engine_partitions, self.tracker
        )
        self.stage = EngineStage(config, _sources(settings))
        self.last_engine_offset: dict[int, int] = {}
        self.admin = AdminClient(
            {"bootstrap.servers": settings.kafka_bootstrap_servers, "log_level": 2}
        )
        self._lock: asyncio.Lock | None = None
        self._crashing: set[asyncio.Future[None]] = set()

    @property
    def lock(self) -> asyncio.Lock:
        """The engine-topic write lock, made in the running loop."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        partition: int | None = None,
        timestamp: float | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Queue one record with the app's producer, straight to aiokafka's batches.

        Faust's ``Topic.send`` wraps every record in futures and sensor calls; this
        worker sends tens of thousands a second and needs none of it. Delivery is
        still covered by Faust's commit, which flushes the producer before it
        commits input offsets. A delivery that fails crashes the worker (its
        input is then read again on restart) instead of going unnoticed.
        """
        producer = self.app.producer
        fut = await producer.send(topic, key, value, partition, timestamp, headers)
        fut.add_done_callback(self._delivered)  # type: ignore[attr-defined]

    def _delivered(self, fut: asyncio.Future[object]) -> None:
        if not fut.cancelled() and fut.exception() is not None:
            err = fut.exception()
            log.error("a record could not be delivered, stopping: %r", err)
            assert isinstance(err, BaseException)
            self._crashing.add(asyncio.ensure_future(self.app.crash(err)))

    async def send_engine(self, records: list[EngineOut]) -> None:
        """Queue records for the engine topic, in order (caller holds the lock)."""
        topic = self.settings.topic_engine
        for r in records:
            await self.send(topic, r.key, r.value, r.partition, r.timestamp)

    async def on_input(self, message: faust.types.Message) -> None:
        """Ingest one input record."""
        record = RawRecord(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value or b"",
            headers=list(_headers(message.headers)),
            timestamp=message.timestamp,
        )
        async with self.lock:
            out = self.ingest.handle(record, time.monotonic())
            if isinstance(out, DeadLetterOut):
                topic = self.settings.topic_dead_letter
                await self.send(topic, out.key, out.value, None, message.timestamp, out.headers)
                log.debug(
                    "dead letter from %s/%d@%d", record.topic, record.partition, record.offset
                )
            else:
                await self.send_engine(out)

    async def on_tick(self) -> None:
        """Follow the assignment, send due watermarks and idle markers."""
        assigned = self.app.consumer.assignment()
        now = time.monotonic()
        mine = {
            source_name(tp.topic, tp.partition): tp for tp in assigned if tp.topic in self.inputs
        }
        for name in list(self.tracker.sources):
            if name not in mine:
                del self.tracker.sources[name]
        for name in mine:
            self.tracker.start(name, now)
        async with self.lock:
            await self.send_engine(self.ingest.markers())
        candidates = self.tracker.idle_candidates(now)
        idle = [n for n, p in self.tracker.sources.items() if p.idle and p.next_offset is not None]
        asked = [*candidates, *idle]
        if asked:  # end offsets are asked outside the lock: it takes a round trip
            ends = await self.app.consumer.highwaters(*(mine[c] for c in asked))
            fresh = [c for c in candidates if self.tracker.sources[c].next_offset is None]
            positions = await asyncio.to_thread(self._committed, [mine[c] for c in fresh])
            await self._idle(candidates, {c: ends.get(mine[c]) for c in asked}, positions, now)

    def _committed(self, tps: list[TP]) -> dict[str, int | None]:
        """The group's committed offset of each partition (0 when none), by source.

        For a source nothing was read from since the start: committed at its end
        offset means every record was processed (here or by a worker before).
        None when the broker does not answer (the source is then not idle yet).
        """
        if not tps:
            return {}
        request = ConsumerGroupTopicPartitions(
            self.settings.worker_group, [TopicPartition(tp.topic, tp.partition) for tp in tps]
        )
        try:
            answer = self.admin.list_consumer_group_offsets([request], request_timeout=5)
            parts = answer[self.settings.worker_group].result().topic_partitions
        except KafkaException as err:
            log.warning("committed offsets unavailable: %s", err)
            return {source_name(tp.topic, tp.partition): None for tp in tps}
        return {source_name(t.topic, t.partition): max(t.offset, 0) for t in parts}

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
                    await self.send_engine(self.ingest.wake(name))
            await self.send_engine(self.ingest.markers())
            for name in candidates:
                progress = self.tracker.sources.get(name)
                if progress is None or progress.idle or progress.last_read > now:
                    continue  # revoked, or read from since the candidates were chosen
                if self.tracker.is_caught_up(name, ends[name], positions.get(name)):
                    await self.send_engine(self.ingest.idle(name))
                    log.info("source %s is idle", name)

    async def on_engine(self, message: faust.types.Message) -> None:
        """Feed one engine-topic record to its partition's engine; send the alerts."""
        partition, offset = message.partition, message.offset
        last = self.last_engine_offset.get(partition, -1)
        if offset > last + 1:  # a gap: records this engine never saw (see docs/worker.md)
            log.warning("engine partition %d jumps from offset %d to %d", partition, last, offset)
        self.last_engine_offset[partition] = max(last, offset)
        alerts = self.stage.handle(partition, message.value or b"")
        ENGINE_RECORDS.inc()
        if not alerts:
            return
        cause = message.timestamp
        headers = [(CAUSE_HEADER, str(round(cause * 1000)).encode())]
        topic = self.settings.topic_alerts
        for alert in alerts:
            await self.send(
                topic, alert_key(alert), alert.model_dump_json().encode(), None, None, headers
            )
            record_alert(alert.rule, alert.severity)
            path = detection_path(alert.rule, alert.severity)
            observe_detection_latency(path, time.time() - cause)


def _headers(headers: object) -> list[tuple[str, bytes]]:
    """A message's headers as a list of pairs, whatever form Faust gives them in."""
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
    app = create_app(settings, app_id=settings.worker_group, partitions=settings.engine_partitions)
    app.conf.datadir = datadir / f"{settings.worker_group}-data"
    # The engine agent never acknowledges; waiting for its "in-flight" records
    # would hold every rebalance and shutdown until a time-out.
    app.conf.stream_wait_empty = False
    # A worker killed without leaving the group holds its partitions this long.
    app.conf.broker_session_timeout = SESSION_TIMEOUT_S
    wiring = _Wiring(app, settings, key, config)
    inputs = _raw_topic(app, *settings.feed_topics().values())

    @app.agent(inputs, concurrency=1, name="ingest")
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await wiring.on_input(event.message)

    @app.agent(wiring.engine_topic, concurrency=1, name="engine")
    async def engine(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare noack()
        async for event in stream.noack().events():
            await wiring.on_engine(event.message)

    async def tick() -> None:
        await wiring.on_tick()

    app.timer(interval=TICK_S)(tick)

    return app
