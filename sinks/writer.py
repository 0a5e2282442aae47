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
- ``run(job)`` queues ``job(store)`` for the next idle store and returns its
  ``Future`` at once: for callers that bound what is in flight themselves,
  such as the worker's ``SinkService``, whose event loop must never wait.
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
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from sinks.batch import Block
from sinks.store import Store

__all__ = ["BlockWriter"]

_T = TypeVar("_T")


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

    @property
    def size(self) -> int:
        """How many stores (connections) work at once."""
        return len(self._stores)

    def submit(self, block: Block) -> Future[int]:
        """Start storing ``block``; waits first while every store is busy."""
        self._slots.acquire()
        future = self.run(block.store)
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def run(self, job: Callable[[Store], _T]) -> Future[_T]:
        """Queue ``job(store)`` for the next idle store; never waits. Jobs start in order."""
        return self._pool.submit(self._with_store, job)

    def _with_store(self, job: Callable[[Store], _T]) -> _T:
        store = self._idle.get()  # one thread per store: one is always idle here
        try:
            return job(store)
        finally:
            self._idle.put(store)

    def close(self) -> None:
        """Wait for the blocks in flight, then close every store."""
        self._pool.shutdown(wait=True)
        for store in self._stores:
            store.close()
