"""Reading a topic to its end, as a downstream reader sees it (committed records only).

Used by the demo, ``sink_backlog``, the benchmarks, the chaos run and the
tests. The worker writes its topics in transactions, so offsets are not
records: each transaction ends with a control record that takes an offset and
is never delivered, and records of aborted transactions are skipped. The
number of records is therefore never ``high - low``; these helpers read the
records themselves, with read_committed, up to the last stable offset (what
``get_watermark_offsets`` answers a read_committed consumer).
"""

from __future__ import annotations

import time
from typing import Final

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from streams.kafka.clients import consumer
from streams.settings import Settings

__all__ = ["committed_records", "group_lag", "partitions_of", "read_topic", "records_after"]

_TIMEOUT_S: Final = 10.0


def partitions_of(reader: Consumer, topic: str) -> list[int]:
    """The partition numbers of ``topic`` (empty while it does not exist)."""
    try:
        meta = reader.list_topics(topic, timeout=_TIMEOUT_S).topics[topic]
    except (KafkaException, KeyError):
        return []
    return [] if meta.error is not None else sorted(meta.partitions)


def _read(reader: Consumer, starts: list[TopicPartition], timeout: float) -> list[Message]:
    """Every committed record from ``starts`` up to each partition's end as of now."""
    ends = {}
    for tp in starts:
        low, high = reader.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), _TIMEOUT_S)
        start = low if tp.offset < 0 else max(tp.offset, low)
        if high > start:
            ends[(tp.topic, tp.partition)] = high
            tp.offset = start
    wanted = [tp for tp in starts if (tp.topic, tp.partition) in ends]
    if not wanted:
        return []
    reader.assign(wanted)
    records: list[Message] = []
    left, deadline = set(ends), time.monotonic() + timeout
    while left:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(left)} partitions not read to their end in {timeout:.0f} s")
        for msg in reader.consume(10_000, 0.5):
            if msg.error() is not None:
                raise KafkaException(msg.error())
            records.append(msg)
        done = reader.position([TopicPartition(t, p) for t, p in left])
        left -= {
            (tp.topic, tp.partition) for tp in done if tp.offset >= ends[(tp.topic, tp.partition)]
        }
    return records


def read_topic(
    settings: Settings,
    topic: str,
    timeout: float = 60.0,
    *,
    committed: bool = True,
    group: str = "controlfeed-reader",
) -> list[Message]:
    """Every record of ``topic`` now, partition by partition in order.

    ``committed=False`` reads like a consumer that forgot read_committed: the
    records of aborted and open transactions too (the chaos run's negative
    control). ``group`` names the consumer (nothing is committed; a secured
    broker checks that the principal may use it). Raises ``TimeoutError`` when
    the end is not reached in ``timeout``.
    """
    isolation = "read_committed" if committed else "read_uncommitted"
    reader = consumer(settings, group, "controlfeed-reader",
                      **{"isolation.level": isolation})  # fmt: skip
    try:
        starts = [TopicPartition(topic, p, -1) for p in partitions_of(reader, topic)]
        return _read(reader, starts, timeout)
    finally:
        reader.close()


def records_after(
    settings: Settings, offsets: dict[tuple[str, int], int | None], timeout: float = 60.0
) -> list[Message]:
    """The committed records after each given offset (None: from the start), to the end."""
    reader = consumer(settings, "controlfeed-reader", "controlfeed-reader")
    try:
        starts = [TopicPartition(t, p, -1 if o is None else o) for (t, p), o in offsets.items()]
        return _read(reader, starts, timeout)
    finally:
        reader.close()


def committed_records(settings: Settings, topic: str, timeout: float = 60.0) -> int:
    """How many committed records ``topic`` holds now (0 while it does not exist)."""
    return len(read_topic(settings, topic, timeout))


def group_lag(settings: Settings, group: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """Per partition of ``topics``: last stable offset minus ``group``'s committed offset.

    For the worker's transactional stages (ingest, engine), whose commits move
    past the control records of the transactions they read, 0 means every
    record is processed and its output committed. A partition without a commit
    counts from its first offset. Raises ``KafkaException`` when the broker does
    not answer.
    """
    reader = consumer(settings, group, "controlfeed-lag")
    try:
        parts = [TopicPartition(t, p) for t in topics for p in partitions_of(reader, t)]
        lags: dict[tuple[str, int], int] = {}
        for tp in reader.committed(parts, timeout=_TIMEOUT_S) if parts else []:
            low, high = reader.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), _TIMEOUT_S
            )
            lags[(tp.topic, tp.partition)] = max(0, high - max(tp.offset, low))
        return lags
    finally:
        reader.close()
