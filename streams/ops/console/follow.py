"""The console's readers: the alerts, alert-state and venue topics into its ``Book``.

Started by ``streams.cli.console`` (one daemon thread per topic, made by
``Followers.start``). Each reader is assigned every partition of its topic
from the beginning (no consumer group offsets: every console process reads
everything, read_committed, so it sees each committed alert once) and keeps
following. A record that is not an alert or a state is logged and skipped:
the console shows what it can. The book's ``ready`` is set once every reader
reached the end its topic had when it started. The venue register (a
reference feed without personal data) gives the map its venues.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Final

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition
from pydantic import BaseModel, ValidationError

from schemas.alert_state import AlertState
from schemas.alerts import Alert
from schemas.feeds import Venue
from streams.kafka.clients import consumer
from streams.kafka.read import partitions_of
from streams.ops.console.book import Book
from streams.settings import Settings

__all__ = ["Followers"]

log = logging.getLogger(__name__)

_POLL_S: Final = 0.1


class Followers:
    """The reader threads of one console; see the module docstring."""

    def __init__(self, settings: Settings, book: Book) -> None:
        self._settings = settings
        self._book = book
        self._stop = threading.Event()
        self._caught_up = {name: threading.Event() for name in ("alerts", "state", "venues")}
        self._threads: list[threading.Thread] = []
        self._unreadable = 0

    def start(self) -> None:
        """Start the readers; ``book.ready`` is set once all have caught up."""
        topics: list[tuple[str, str, Callable[[bytes], BaseModel], Callable[..., bool]]] = [
            ("alerts", self._settings.topic_alerts, Alert.model_validate_json,
             self._book.add_alert),
            ("state", self._settings.topic_alert_state, AlertState.model_validate_json,
             self._book.add_state),
            ("venues", self._settings.topic_venues, Venue.model_validate_json,
             self._book.add_venue),
        ]  # fmt: skip
        for name, topic, parse, add in topics:
            thread = threading.Thread(
                target=self._run, args=(name, topic, parse, add),
                name=f"controlfeed-console-{name}", daemon=True,
            )  # fmt: skip
            thread.start()
            self._threads.append(thread)
        threading.Thread(target=self._ready, daemon=True).start()

    def stop(self) -> None:
        """Stop the readers (their consumers close)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def _ready(self) -> None:
        for event in self._caught_up.values():
            event.wait()
        self._book.ready.set()

    def _run(
        self, name: str, topic: str, parse: Callable[[bytes], BaseModel], add: Callable[..., bool]
    ) -> None:
        """Follow ``topic`` until stopped; after a Kafka error, read it again from the start
        (the book takes every alert and state once, so nothing shows twice)."""
        while not self._stop.is_set():
            try:
                self._follow(name, topic, parse, add)
            except KafkaException as err:
                log.warning("console: reading %s: %s; reading it again in 1 s", topic, err)
                self._stop.wait(1.0)

    def _follow(
        self, name: str, topic: str, parse: Callable[[bytes], BaseModel], add: Callable[..., bool]
    ) -> None:
        reader = consumer(
            self._settings,
            f"controlfeed-console-{uuid.uuid4().hex[:8]}",  # never commits: no group state
            f"controlfeed-console-{name}",
            **{"enable.auto.commit": False, "fetch.wait.max.ms": 50},
        )
        try:
            ends = self._assign(reader, topic)
            while not self._stop.is_set():
                for msg in reader.consume(500, _POLL_S):
                    self._take(msg, topic, parse, add)
                    if _at_end(msg, ends):
                        del ends[msg.partition() or 0]
                if ends and _caught_up(reader, ends):
                    ends.clear()
                if not ends:
                    self._caught_up[name].set()
        finally:
            reader.close()

    def _assign(self, reader: Consumer, topic: str) -> dict[int, int]:
        """Assign every partition of ``topic`` from the start; each one's end offset now."""
        while not self._stop.is_set():
            partitions = partitions_of(reader, topic)
            if partitions:
                break
            log.warning("console: topic %s does not exist yet; waiting for it", topic)
            self._stop.wait(2.0)
        else:
            return {}
        reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        ends = {}
        for p in partitions:
            low, high = reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            if high > low:
                ends[p] = high
        return ends

    def _take(
        self,
        msg: Message,
        topic: str,
        parse: Callable[[bytes], BaseModel],
        add: Callable[..., bool],
    ) -> None:
        if msg.error() is not None:
            log.warning("console: %s: %s", topic, msg.error())
            return
        try:
            add(parse(msg.value() or b""))
        except ValidationError as err:
            self._unreadable += 1
            if self._unreadable == 1 or self._unreadable % 1000 == 0:
                log.info("console: %s[%s]@%s is not readable (%d errors); skipped (%d so far: "
                         "the feeds' bad input stays in the dead letters)", topic, msg.partition(),
                         msg.offset(), err.error_count(), self._unreadable)  # fmt: skip


def _at_end(msg: Message, ends: dict[int, int]) -> bool:
    end = ends.get(msg.partition() or 0)
    return end is not None and (msg.offset() or 0) + 1 >= end


def _caught_up(reader: Consumer, ends: dict[int, int]) -> bool:
    """Whether the reader's position passed every remaining end (control records included)."""
    topic_partitions = reader.assignment()
    positions = {tp.partition: tp.offset for tp in reader.position(topic_partitions)}
    for p in list(ends):
        if positions.get(p, -1) >= ends[p]:
            del ends[p]
    return not ends
