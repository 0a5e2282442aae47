"""``tune_gc()``: the garbage-collector settings the worker should run the engine with.

Called once by the worker at start, after imports and configuration, before
the first record. An engine keeps ten minutes of events alive (the buffer,
remembered ids, reference history and family state), hundreds of thousands
of objects that are never garbage. With CPython's default thresholds
(700, 10, 10) a young collection runs every 700 allocations and older ones
walk those live objects again and again: 30-40 % of the engine's time in
``benchmarks/rules_engine.py``. Nothing here changes any result, only when
the collector runs; reference counting frees almost everything the engine
drops, so the collector rarely has anything to collect.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["GC_THRESHOLDS", "tune_gc"]

GC_THRESHOLDS: Final = (50_000, 50, 100)
"""Young generation every 50,000 net allocations (default 700); older ones as rarely."""


def tune_gc(thresholds: tuple[int, int, int] = GC_THRESHOLDS, *, freeze: bool = True) -> None:
    """Raise the collector's thresholds and (by default) freeze what exists now.

    ``gc.freeze()`` moves every object alive at the call (modules, classes,
    configuration, compiled schemas) to a permanent generation the collector
    never walks again; call it once, after start-up. Memory stays bounded: the
    thresholds only space collections out, cycles are still collected.
    """
    gc.collect()
    if freeze:
        gc.freeze()
    gc.set_threshold(*thresholds)
