"""The engines of the partitions a worker holds: one ``rules.Engine`` each, alerts out.

Used by the engine stage (``streams.worker.engine_stage``) for every record
of the engine topic, in each partition's order. ``Engines.handle`` loads the
envelope, feeds the partition's engine (created on first use, declared with
every input source so that a source not read yet holds the watermark) and
returns the alerts, counting late events for ``take_late``; ``restore`` and
``checkpoint`` give an engine's state as checkpoint bytes
(``rules.Engine.checkpoint``). No metrics of its own: the stage exports the
counts (``streams.worker.exporting``).
A record that is not an envelope is a bug in ingest: ``pydantic.ValidationError``
propagates and stops the worker rather than skipping input silently.
"""

from __future__ import annotations

from collections.abc import Iterable

from rules import Engine, RulesConfig, route
from rules.state import StateImage
from schemas.alerts import Alert
from schemas.clean import EventRecord, load_envelope

__all__ = ["Engines"]


class Engines:
    """The engines of the partitions this worker holds; see the module docstring."""

    def __init__(self, config: RulesConfig, sources: Iterable[str]) -> None:
        """``sources``: every input ``topic/partition`` of the pipeline."""
        self._config = config
        self._sources = tuple(sources)
        self.engines: dict[int, Engine] = {}
        self._late: dict[str, int] = {}

    def engine(self, partition: int) -> Engine:
        """The engine of ``partition``, created empty on first use."""
        engine = self.engines.get(partition)
        if engine is None:
            engine = self.engines[partition] = Engine(self._config, sources=self._sources)
        return engine

    def drop(self, partition: int) -> None:
        """Forget ``partition``'s engine (called when the partition is revoked)."""
        self.engines.pop(partition, None)

    def restore(self, partition: int, state: bytes) -> None:
        """Continue ``partition`` from checkpoint bytes; raises ``rules.SnapshotError``."""
        self.engines[partition] = Engine.from_checkpoint(state, self._config, self._sources)

    def image(self, partition: int) -> StateImage:
        """The state of ``partition``'s engine now, to be encoded as checkpoint bytes."""
        return self.engine(partition).image()

    def handle(self, partition: int, value: bytes) -> list[Alert]:
        """The alerts that one engine-topic record of ``partition`` causes.

        Counts a late event (for ``take_late``) once, on the copy of the first
        family of its route.
        """
        engine = self.engine(partition)
        envelope = load_envelope(value)
        late = engine.stats.late
        alerts = engine.feed(envelope)
        if engine.stats.late != late and isinstance(envelope, EventRecord):
            event = envelope.event
            if route(event, self._config)[:1] == [(envelope.family, envelope.key)]:
                self._late[event.feed] = self._late.get(event.feed, 0) + 1
        return alerts

    def take_late(self) -> dict[str, int]:
        """The events late on arrival since the last call, by feed, each counted once
        (``controlfeed_late_events_total``, exported by the engine stage per batch)."""
        late, self._late = self._late, {}
        return late

    def sizes(self) -> tuple[int, int, int]:
        """(buffered event copies, pending deadlines, remembered ids) over every engine."""
        engines = self.engines.values()
        return (
            sum(e.buffered for e in engines),
            sum(e.pending_timers for e in engines),
            sum(e.seen_ids for e in engines),
        )
