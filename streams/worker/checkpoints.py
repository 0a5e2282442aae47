"""Engine checkpoints on the state topic: the records that hold one, and finding the latest.

Called by the engine stage (``streams.worker.engine_stage``): ``records`` turns
a checkpoint into the state-topic records the stage sends inside its Kafka
transaction (with the alerts and the engine-topic offsets, so a checkpoint is
visible exactly when the offsets it covers are committed); ``latest`` finds
the newest complete checkpoint of an engine partition when the stage is
assigned it. ``docs/worker.md``, "Checkpoints", has the design.

Format (``FORMAT``): a checkpoint of engine partition ``p`` goes to partition
``p`` of the state topic (compacted) as the state's bytes
(``rules.Engine.checkpoint()``) cut into chunks of at most ``CHUNK_BYTES``,
keyed ``p/0``, ``p/1``, ..., followed by a manifest keyed ``p/manifest``:
JSON with the format, the engine-topic offset the state covers (every record
before it), the checkpoint's id, its chunk count, size and SHA-256. Keys are
reused, so compaction keeps about one checkpoint per partition; a checkpoint
is read from the tail of its partition, never from its start, so a restore
costs one checkpoint however long the topic has run.

A manifest of another format, a missing or damaged chunk, or bytes the engine
cannot read make ``latest`` return the next older complete checkpoint, or
None: the stage then rebuilds the partition from the engine topic. Never
raises for what it reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.kafka.transactions import StopRequested

__all__ = [
    "CHUNK_BYTES",
    "FORMAT",
    "Checkpoint",
    "Found",
    "StateRecord",
    "latest",
    "records",
]

log = logging.getLogger(__name__)

FORMAT: Final = 1
"""The checkpoint format this module writes and reads (the manifest's ``format``)."""
CHUNK_BYTES: Final = 512 * 1024
"""Largest chunk: well under Kafka's default 1 MB record limit."""
_CHUNK_HEADER: Final = "controlfeed.checkpoint"
"""Header of every chunk: ``<checkpoint id>/<index>``."""
_WINDOW: Final = 64
"""Records read back from the end first; quadrupled while no complete checkpoint is found."""
_MISSING: Final = "a checkpoint with chunks missing"
_READ_TIMEOUT_S: Final = 30.0
"""Longest wait for the state topic while reading a window (an open transaction of a
killed worker blocks it until the broker aborts that)."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One engine partition's state and the engine-topic offset it covers."""

    partition: int
    """The engine partition (and state-topic partition)."""
    offset: int
    """The engine-topic offset after the last record the state includes."""
    state: bytes
    """``rules.Engine.checkpoint()``."""


@dataclass(frozen=True, slots=True)
class StateRecord:
    """One record of a checkpoint for the state topic."""

    key: bytes
    """``p/<index>`` or ``p/manifest``."""
    value: bytes
    """A chunk of the state, or the manifest's JSON."""
    headers: list[tuple[str, bytes]] | None
    """The chunk header (None on the manifest)."""


@dataclass(frozen=True, slots=True)
class Found:
    """What ``latest`` found: the checkpoint, or why there is none to use."""

    checkpoint: Checkpoint | None
    """The newest complete checkpoint, or None."""
    note: str
    """For the log: where it came from, or why none was usable."""
    read_s: float
    """Seconds spent reading the state topic."""


def records(checkpoint: Checkpoint) -> list[StateRecord]:
    """The chunks and manifest of ``checkpoint``, in the order to send them."""
    state, p = checkpoint.state, checkpoint.partition
    ident = uuid.uuid4().hex[:16]
    chunks = [state[i : i + CHUNK_BYTES] for i in range(0, len(state), CHUNK_BYTES)] or [b""]
    out = [
        StateRecord(f"{p}/{i}".encode(), chunk, [(_CHUNK_HEADER, f"{ident}/{i}".encode())])
        for i, chunk in enumerate(chunks)
    ]
    manifest = {
        "format": FORMAT,
        "partition": p,
        "offset": checkpoint.offset,
        "id": ident,
        "chunks": len(chunks),
        "bytes": len(state),
        "sha256": hashlib.sha256(state).hexdigest(),
    }
    out.append(StateRecord(f"{p}/manifest".encode(), json.dumps(manifest).encode(), None))
    return out


def latest(reader: Consumer, topic: str, partition: int, stop: Any) -> Found:
    """The newest complete checkpoint of ``partition`` on ``topic``, read from the tail.

    ``reader`` is a consumer of the caller's (read_committed, used only for
    this: it is assigned and unassigned here). ``stop`` (a ``threading.Event``)
    ends the wait early with ``StopRequested``. A broker that does not answer
    raises ``KafkaException``.
    """
    started = time.monotonic()
    tp = TopicPartition(topic, partition)
    low, high = reader.get_watermark_offsets(tp, timeout=10)
    if high <= low:
        return Found(None, "no checkpoint yet", time.monotonic() - started)
    window, notes = _WINDOW, []
    while True:
        start = max(low, high - window)
        chunks, manifests = _read(reader, TopicPartition(topic, partition, start), high, stop)
        wider = window * 4
        for manifest in reversed(manifests):
            checkpoint, why = _assemble(manifest, chunks, partition)
            if checkpoint is not None:
                size = len(checkpoint.state)
                note = f"checkpoint at engine offset {checkpoint.offset} ({size:,} bytes)"
                return Found(checkpoint, note, time.monotonic() - started)
            if why == _MISSING and start > low:  # its first chunks lie before the window
                wider = max(wider, high - (int(manifest["_at"]) - int(manifest["chunks"]) - 16))
                break
            notes.append(why)
        if start == low:
            why = "; ".join(dict.fromkeys(notes)) or "no complete checkpoint"
            return Found(None, why, time.monotonic() - started)
        window = wider


def _read(
    reader: Consumer, start: TopicPartition, high: int, stop: Any
) -> tuple[dict[str, dict[int, bytes]], list[dict[str, Any]]]:
    """Chunks (by checkpoint id and index) and manifests (in order) from ``start`` to ``high``."""
    chunks: dict[str, dict[int, bytes]] = {}
    manifests: list[dict[str, Any]] = []
    reader.assign([start])
    deadline = time.monotonic() + _READ_TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            if stop.is_set():
                raise StopRequested("reading a checkpoint")
            batch = reader.consume(1000, 0.05)
            for msg in batch:
                if msg.error() is not None:
                    raise KafkaException(msg.error())
                _take(msg, chunks, manifests)
            position = reader.position([TopicPartition(start.topic, start.partition)])[0].offset
            if position >= high or (batch and (batch[-1].offset() or 0) >= high - 1):
                break
        else:
            log.warning("state topic %s/%d not read to its end within %.0f s (an open "
                        "transaction?); using what was read", start.topic, start.partition,
                        _READ_TIMEOUT_S)  # fmt: skip
    finally:
        reader.unassign()
    return chunks, manifests


def _take(msg: Any, chunks: dict[str, dict[int, bytes]], manifests: list[dict[str, Any]]) -> None:
    key, value, headers = msg.key() or b"", msg.value() or b"", msg.headers()
    if key.endswith(b"/manifest"):
        try:
            manifest = json.loads(value)
        except ValueError:
            return
        if isinstance(manifest, dict):
            manifest["_at"] = msg.offset()  # where it lies: its chunks come just before
            manifests.append(manifest)
        return
    for name, raw in headers or ():
        if name == _CHUNK_HEADER and raw:
            ident, _, index = raw.decode(errors="replace").rpartition("/")
            if index.isdigit():
                chunks.setdefault(ident, {})[int(index)] = value


def _assemble(
    manifest: dict[str, Any], chunks: dict[str, dict[int, bytes]], partition: int
) -> tuple[Checkpoint | None, str]:
    """The checkpoint ``manifest`` describes, or None and why it cannot be used."""
    if manifest.get("format") != FORMAT:
        return None, f"a checkpoint of format {manifest.get('format')!r}, not {FORMAT}"
    try:
        ident, count = str(manifest["id"]), int(manifest["chunks"])
        offset, size, digest = int(manifest["offset"]), int(manifest["bytes"]), manifest["sha256"]
    except (KeyError, TypeError, ValueError):
        return None, "a damaged checkpoint manifest"
    if manifest.get("partition") != partition:
        return None, "a checkpoint of another partition"
    parts = chunks.get(ident, {})
    if any(i not in parts for i in range(count)):
        return None, _MISSING
    state = b"".join(parts[i] for i in range(count))
    if len(state) != size or hashlib.sha256(state).hexdigest() != digest:
        return None, "a checkpoint whose bytes do not match its manifest"
    return Checkpoint(partition, offset, state), ""
