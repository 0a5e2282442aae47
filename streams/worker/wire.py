"""Header names on the worker's internal records (engine topic, alerts).

Written by the ingest and engine stages and read by the engine stage, the
sink and the benchmarks; defined here once so that writer and readers agree.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CAUSE_HEADER", "STORE_HEADER"]

CAUSE_HEADER: Final = "controlfeed.cause.timestamp"
"""Kafka timestamp (ms, decimal) of the input record an engine record was made from, and
on an alert, of the record that raised it (the input's, or a marker's sending time);
detection latency counts from it."""
STORE_HEADER: Final = "controlfeed.store"
"""On the one engine-topic copy of an input record that the sink stores (value ``1``): an
event's copy for the first family of its route, a reference record's for partition 0."""
