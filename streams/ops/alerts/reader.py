"""Read the alerts topic without joining a consumer group or committing offsets.

Called by ``streams.cli.alerts``. The consumer ``assign`` s partitions
itself (it never subscribes), so it takes part in no group rebalance, and
``enable.auto.commit`` is off: reading alerts never moves anyone's offsets. It
reads with read_committed, as every consumer of ``streams.kafka.clients``:
an alert of a transaction the worker aborted is never shown.
A missing topic or an unreachable broker raises ``ControlfeedError`` with a
hint; a record that is not a valid alert is yielded as a ``BadRecord`` for
the caller to warn about, never an exception.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from confluent_kafka import OFFSET_END, Consumer, KafkaError, KafkaException, TopicPartition
from pydantic import ValidationError

from schemas.alerts import Alert
from streams.exceptions import ControlfeedError
from streams.kafka.clients import consumer
from streams.kafka.topics import missing_topics
from streams.settings import Settings

__all__ = ["BadRecord", "read_alerts"]

_TIMEOUT: Final = 10.0
"""Seconds to wait for metadata, watermarks and offset look-ups."""
_POLL: Final = 0.5
"""Seconds per poll: how quickly Ctrl-C and the end of the topic are noticed."""
_SINCE_SLACK: Final = timedelta(hours=1)
"""How far before ``--since`` the seek by record timestamp starts: an alert's
record is written after its event, but a deadline alert may carry a time a
little after the record's; the exact filter on ``event_time`` follows."""


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record on the alerts topic that is not a valid alert."""

    partition: int
    """Its partition."""
    offset: int
    """Its offset in that partition."""
    reason: str
    """Why it was rejected, in words (first line of the validation error)."""


def _consumer(settings: Settings) -> Consumer:
    # never joins its group (it assigns); read_committed: no alert of an aborted transaction
    group = f"controlfeed-alerts-{uuid.uuid4().hex}"
    return consumer(settings, group, "controlfeed-alerts", **{"enable.partition.eof": True})


def _check_topic(settings: Settings) -> None:
    topic = settings.topic_alerts
    if missing_topics(settings, [topic], timeout=_TIMEOUT):
        raise ControlfeedError(
            f"the alerts topic {topic!r} does not exist on {settings.kafka_bootstrap_servers}",
            hint="Run `controlfeed topics create` (or set CONTROLFEED_TOPIC_ALERTS "
            "to the topic the worker writes).",
        )


def _start_offsets(consumer: Consumer, topic: str, since: datetime | None) -> list[TopicPartition]:
    """Where each partition starts: its beginning, or the first record near ``since``."""
    metadata = consumer.list_topics(topic, timeout=_TIMEOUT)
    partitions = sorted(metadata.topics[topic].partitions)
    if since is None:
        lows = [
            consumer.get_watermark_offsets(TopicPartition(topic, p), _TIMEOUT) for p in partitions
        ]
        return [TopicPartition(topic, p, low) for p, (low, _) in zip(partitions, lows, strict=True)]
    millis = int((since - _SINCE_SLACK).timestamp() * 1000)
    found = consumer.offsets_for_times(
        [TopicPartition(topic, p, millis) for p in partitions], timeout=_TIMEOUT
    )
    return [TopicPartition(topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_END)
            for tp in found]  # fmt: skip


def _end_offsets(consumer: Consumer, starts: list[TopicPartition]) -> dict[int, int]:
    """The high watermark of each partition now: a bounded read stops there."""
    ends = {}
    for tp in starts:
        _, high = consumer.get_watermark_offsets(tp, timeout=_TIMEOUT)
        ends[tp.partition] = high
    return ends


def _decode(partition: int, offset: int, value: bytes | None) -> Alert | BadRecord:
    if value is None:
        return BadRecord(partition, offset, "empty record (tombstone)")
    try:
        return Alert.model_validate_json(value)
    except ValidationError as err:
        first = str(err).splitlines()
        return BadRecord(partition, offset, " ".join(first[:3]))


def read_alerts(
    settings: Settings, since: datetime | None = None, follow: bool = False
) -> Iterator[Alert | BadRecord]:
    """Yield the alerts on ``settings.topic_alerts``, in order within each partition.

    Starts at the beginning, or (with ``since``) at the first record whose
    Kafka timestamp is at most an hour before it; the caller filters by
    ``event_time``. Without ``follow`` it stops at the end offsets seen at
    start; with it, it waits for new alerts until the caller stops iterating
    (Ctrl-C). Raises ``ControlfeedError`` for a missing topic or broker.
    """
    _check_topic(settings)
    consumer = _consumer(settings)
    try:
        starts = _start_offsets(consumer, settings.topic_alerts, since)
        ends = _end_offsets(consumer, starts)
        left = {tp.partition for tp in starts if tp.offset != OFFSET_END}
        left = {p for p in left if _before_end(starts, p, ends[p])}
        consumer.assign(starts)
        while follow or left:
            msg = consumer.poll(_POLL)
            if msg is None:
                continue
            error = msg.error()
            partition, offset = msg.partition() or 0, msg.offset() or 0
            if error is not None and error.code() == KafkaError._PARTITION_EOF:
                left.discard(partition)
                continue
            if error is not None:
                raise ControlfeedError(
                    f"reading {settings.topic_alerts} failed: {error}",
                    hint="Check the broker (`controlfeed stack status`) and, on a secured "
                    "broker, that this client may read the topic (docs/security.md).",
                )
            if not follow and offset + 1 >= ends[partition]:
                left.discard(partition)
            if follow or offset < ends[partition]:
                yield _decode(partition, offset, msg.value())
    except KafkaException as err:
        raise ControlfeedError(
            f"cannot read {settings.topic_alerts} from {settings.kafka_bootstrap_servers}: {err}",
            hint="Start the local stack with `controlfeed stack up`.",
        ) from err
    finally:
        consumer.close()


def _before_end(starts: list[TopicPartition], partition: int, end: int) -> bool:
    """True when the start offset of ``partition`` is below its end (something to read)."""
    start = next(tp.offset for tp in starts if tp.partition == partition)
    return start < end
