"""The sink's store connections: the first opened and migrated (waiting out an outage), then more.

Called by ``SinkService.open`` on the stage's thread, before it subscribes:
``open_migrated`` retries while the store is unavailable (backoff 0.5 s
doubling to ``sink_retry_max_seconds``, ``controlfeed_sink_paused`` 1
meanwhile), so the worker starts without ClickHouse; ``more_connections``
opens the extra connections of a server store, which ``sinks.writer.BlockWriter``
uses to store several flushes at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sinks import SinkError, Store, StoreUnavailableError, migrate
from streams.kafka.transactions import StopRequested
from streams.metrics import set_sink_paused
from streams.sink.backoff import Backoff

__all__ = ["more_connections", "open_migrated"]

log = logging.getLogger(__name__)


def open_migrated(
    open_store: Callable[[], Store], stop: threading.Event, retry_max_seconds: float
) -> Store:
    """``open_store()`` and migrate it, retried while it is unavailable; the store, ready.

    A store that can never work (chDB missing, a refused migration) is logged
    as an error; then this waits until ``stop`` is set (the sink stays idle,
    shown paused). Raises ``StopRequested`` when ``stop`` is set first; the
    store opened, if any, is closed then.
    """
    backoff = Backoff(cap=retry_max_seconds)
    store: Store | None = None
    try:
        while True:
            try:
                if store is None:
                    store = open_store()
                applied = migrate(store)
                break
            except StoreUnavailableError as err:
                set_sink_paused(True)
                delay = backoff.next()
                log.warning(
                    "ClickHouse is unreachable, the sink retries in %.1f s (not consuming "
                    "until then): %s",
                    delay, err,
                )  # fmt: skip
                if stop.wait(delay):
                    raise StopRequested("opening the store") from None
            except SinkError as err:
                set_sink_paused(True)
                log.error("the sink cannot store anything and stays idle: %s %s", err, err.hint)
                stop.wait()
                raise StopRequested("the sink is idle") from None
    except StopRequested:
        if store is not None:
            store.close()
        raise
    log.info("sink store %s ready (migrations applied: %s)", store.description,
             applied or "none")  # fmt: skip
    set_sink_paused(False)
    return store


def more_connections(open_store: Callable[[], Store], count: int) -> list[Store]:
    """Up to ``count`` more stores from ``open_store()``; the first that cannot be opened
    now ends the list (logged: the sink works with fewer)."""
    stores: list[Store] = []
    for _ in range(count):
        try:
            stores.append(open_store())
        except SinkError as err:
            log.warning("sink stores with %d connection(s), not %d: %s",
                        len(stores) + 1, count + 1, err)  # fmt: skip
            break
    return stores
