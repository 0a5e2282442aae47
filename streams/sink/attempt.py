"""One attempt to store a flush: its chunks inserted in order, on a writer's thread.

``SinkService`` hands ``insert_all`` to the ``sinks.writer.BlockWriter`` for
each flight ``streams.sink.flow.SinkFlow`` starts, and tells the flow what the
``Outcome`` says (how many chunks were stored, whether one failed). A store
error never escapes: it is the outcome; any other exception is a bug and is
raised by the future's ``result``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sinks import Block, SinkError, Store
from streams.sink.flow import Chunk

__all__ = ["Outcome", "chunks_of", "insert_all"]


@dataclass(slots=True)
class Outcome:
    """What one attempt did: the chunks stored, each with its seconds, then the failed one."""

    done: list[tuple[Chunk, float]] = field(default_factory=list)
    failed: tuple[Chunk, float, SinkError] | None = None
    """The chunk that failed, the seconds it took, and the store's error."""


def insert_all(store: Store, chunks: list[Chunk]) -> Outcome:
    """Insert the chunks in order, stopping at the first failure; runs in the store's thread."""
    outcome = Outcome()
    for chunk in chunks:
        start = time.monotonic()
        try:
            store.insert(chunk.table, chunk.columns)
        except SinkError as err:
            outcome.failed = (chunk, time.monotonic() - start, err)
            return outcome
        outcome.done.append((chunk, time.monotonic() - start))
    return outcome


def chunks_of(block: Block) -> list[Chunk]:
    """A block taken from the batcher as the flow's chunks, one per table, in its order."""
    return [
        Chunk(table, columns, len(columns[0]) if columns else 0)
        for table, columns in block.tables.items()
    ]
