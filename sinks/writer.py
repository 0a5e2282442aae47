"""``BlockWriter``: blocks stored on several connections at once, so Python and ClickHouse overlap.

A ``Batcher.flush`` waits for the server to write each block (its parts and
the per-minute views), and the Python process idles meanwhile. The worker's
storage loop may instead ``take`` blocks from its batcher and ``submit`` them
here: up to ``len(stores)`` blocks are in flight, each on its own store
(connection) and thread, while the loop keeps reading and batching. With two
connections to the 18.16 server this stores about 2.5 times as many rows a
second as ``flush`` (``docs/storage.md``, "Measurement").

The contract with the caller:

- ``submit(block)`` returns a ``Future`` resolving to the block's row count;
  it blocks while every connection is busy (backpressure).
- Blocks may finish out of order. Commit Kafka offsets only up to the last
  block such that it and every block before it succeeded.
- A future that raises (``sinks.exceptions.SinkError``) means that block is
  not stored: ``submit`` it again after a backoff (storing twice is harmless).
- ``close()`` waits for the blocks in flight and closes the stores.

chDB runs in-process: give it one store (one writer); the gain is on a server.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from sinks.batch import Block
from sinks.store import Store

__all__ = ["BlockWriter"]


class BlockWriter:
    """Stores ``Block`` s on ``stores`` concurrently, one thread per store."""

    def __init__(self, stores: Sequence[Store]) -> None:
        if not stores:
            raise ValueError("a BlockWriter needs at least one store")
        self._stores = list(stores)
        self._idle: queue.SimpleQueue[Store] = queue.SimpleQueue()
        for store in self._stores:
            self._idle.put(store)
        self._slots = threading.Semaphore(len(self._stores))
        self._pool = ThreadPoolExecutor(len(self._stores), thread_name_prefix="sink-writer")

    def submit(self, block: Block) -> Future[int]:
        """Start storing ``block``; waits first while every store is busy."""
        self._slots.acquire()
        return self._pool.submit(self._store, block)

    def _store(self, block: Block) -> int:
        store = self._idle.get()
        try:
            return block.store(store)
        finally:
            self._idle.put(store)
            self._slots.release()

    def close(self) -> None:
        """Wait for the blocks in flight, then close every store."""
        self._pool.shutdown(wait=True)
        for store in self._stores:
            store.close()
