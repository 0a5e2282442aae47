"""``Engine``: one engine partition's rules over envelopes, in event-time order.

Called by the worker (one instance per engine partition, fed the envelopes of
that partition in order) and by tests. ``feed(envelope)`` returns the alerts
it causes. The rules see every on-time event in ``(event_time, event_id)``
order whatever the arrival order within the allowed lateness, once per event
copy however often it arrives, and deadlines fire when the effective
watermark is strictly past them: so the alerts are the batch oracle's.
docs/watermark.md explains the design; in short:

- An ``EventRecord`` is dropped if its copy (family, key, event id) was seen.
  Otherwise its family's *immediate* rules (verdict from the event alone,
  ``rules.events``) run at once, so their alerts never wait for the
  watermark. It is *late* if it sorts before what has been processed (its
  time is below the effective watermark); late copies only pass their
  family's reference per-event rules. Others wait in a heap.
- A ``Watermark`` raises its source's maximum; an ``Idle`` takes the source
  out of the minimum until its next marker. The effective watermark is the
  minimum over known, active sources of their maximum, less the allowed
  lateness, and never moves back. When it moves, buffered events below it
  are processed in order, then the timers below it fire.
- When every known source is idle the input is caught up: the watermark is
  the highest event time of the event sources less the lateness, and the
  whole buffer is processed (a later event sorting before the last one
  processed is then late).
- A ``ReferenceRecord`` goes into the reference history at once.

Never raises for data; a programming error in a rule propagates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from heapq import heappop, heappush
from typing import Any

from rules.clock import SECOND_US, from_us, to_us
from rules.config import RulesConfig, default_config
from rules.context import Context
from rules.state import EngineState, EngineStats, StateImage
from schemas.alerts import Alert
from schemas.clean import Envelope, EventRecord, Idle, ReferenceRecord, Watermark

__all__ = ["Engine"]

_MINUTE = 60 * SECOND_US
_HOUR = 3600 * SECOND_US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


class Engine:
    """The rules of one engine partition; see the module docstring."""

    def __init__(
        self,
        config: RulesConfig | None = None,
        *,
        sources: Iterable[str] = (),
        state: EngineState | None = None,
    ) -> None:
        """``sources``: input sources known from the start (each holds the watermark until
        its first marker or an idle marker); ``state``: continue from a restored state."""
        self.config = config or default_config()
        self._state = state or EngineState()
        st = self._state
        for source in sources:
            st.source_max.setdefault(source, None)
        self._ctx = Context(self.config, st.reference)
        self._ctx.timers, self._ctx.timer_seq = st.timers, st.timer_seq
        self._families = st.families
        self._seen, self._buffer, self._sources = st.seen, st.buffer, st.source_max
        self._stats = st.stats
        self._lateness = self.config.thresholds.allowed_lateness_s * SECOND_US
        self._dedupe_us = self.config.dedupe_horizon_s * SECOND_US
        self._holder: str | None = None
        # What _maintain last did, derived from the watermark so that a restored engine
        # forgets and prunes exactly when the one it continues would have.
        wm = st.watermark
        self._forget_minute = -(2**62) if wm is None else (wm - self._dedupe_us) // _MINUTE
        self._pruned_hour = -(2**62) if wm is None else wm // _HOUR
        self._buckets: dict[int, list[tuple[str, str, str]]] = {}
        for key, minute in st.seen.items():
            self._buckets.setdefault(minute, []).append(key)
        self._late_before = -(2**62)
        self._sync_late_before()
        self._last_event: object = None
        self._last_time = 0

    @property
    def stats(self) -> EngineStats:
        """The counters (live)."""
        return self._stats

    @property
    def watermark(self) -> datetime | None:
        """The effective watermark (UTC+08:00), or None before it is known."""
        wm = self._state.watermark
        return None if wm is None else from_us(wm)

    @property
    def seen_ids(self) -> int:
        """Event copies remembered for de-duplication."""
        return len(self._seen)

    @property
    def buffered(self) -> int:
        """Event copies waiting for the watermark."""
        return len(self._buffer)

    @property
    def pending_timers(self) -> int:
        """Deadlines not yet judged (including stale ones)."""
        return len(self._ctx.timers)

    def feed(self, envelope: Envelope) -> list[Alert]:
        """Take one envelope; the alerts it causes (often none).

        Called by the worker for every envelope of this engine partition, in the
        partition's order. Raises ``TypeError`` for anything but an envelope.
        """
        if isinstance(envelope, EventRecord):
            self._event(envelope)
        elif isinstance(envelope, Watermark):
            self._watermark(envelope.source, to_us(envelope.time))
        elif isinstance(envelope, Idle):
            self._idle(envelope.source)
        elif isinstance(envelope, ReferenceRecord):
            self._reference(envelope)
        else:
            raise TypeError(f"not an envelope: {envelope!r}")
        alerts = self._ctx.alerts
        if alerts:
            self._ctx.alerts = []
        return alerts

    def feed_all(self, envelopes: Iterable[Envelope]) -> list[Alert]:
        """Take envelopes in order; all the alerts they cause."""
        out: list[Alert] = []
        for envelope in envelopes:
            out.extend(self.feed(envelope))
        return out

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue, as a JSON-able dict (``rules.state``)."""
        self._state.timers, self._state.timer_seq = self._ctx.timers, self._ctx.timer_seq
        return self._state.to_json()

    @classmethod
    def restore(
        cls, data: dict[str, Any], config: RulesConfig | None = None, sources: Iterable[str] = ()
    ) -> Engine:
        """An engine continuing from ``snapshot()``'s data; raises ``SnapshotError``.

        ``sources`` are declared as in ``__init__`` (a source added to the
        pipeline since the snapshot holds the watermark until it is heard from).
        """
        return cls(config, sources=sources, state=EngineState.from_json(data))

    def checkpoint(self) -> bytes:
        """``snapshot()`` as compact JSON bytes: what the worker stores (``from_checkpoint``)."""
        return self.image().encode()

    def image(self) -> StateImage:
        """The state as it is now, cheap to take; ``image().encode()`` is ``checkpoint()``,
        and may run on another thread while this engine goes on."""
        self._state.timers, self._state.timer_seq = self._ctx.timers, self._ctx.timer_seq
        return self._state.image()

    @classmethod
    def from_checkpoint(
        cls, raw: bytes, config: RulesConfig | None = None, sources: Iterable[str] = ()
    ) -> Engine:
        """An engine continuing from ``checkpoint()``'s bytes; raises ``SnapshotError``."""
        return cls(config, sources=sources, state=EngineState.from_bytes(raw))

    # -- events -------------------------------------------------------------------------

    def _event(self, record: EventRecord) -> None:
        """The hot path: every event copy comes through here once."""
        event = record.event
        stats = self._stats
        stats.events += 1
        event_id = event.event_id
        seen_key = (record.family, record.key, event_id)
        seen = self._seen
        if seen_key in seen:
            stats.duplicates += 1
            return
        if record.source not in self._sources:
            self._sources[record.source] = None
            self._holder = None
        if event is self._last_event:  # the next copy of the same event (route's copies)
            time = self._last_time
        else:  # aware datetimes with pydantic's tzinfo: about 1.5 us, worth saving
            time = (event.event_time - _EPOCH) // _ONE_US
            self._last_event, self._last_time = event, time
        minute = time // _MINUTE
        if minute >= self._forget_minute:
            seen[seen_key] = minute
            bucket = self._buckets.get(minute)
            if bucket is None:
                self._buckets[minute] = [seen_key]
            else:
                bucket.append(seen_key)
        self._families[record.family].on_arrival(self._ctx, record.key, event, time)
        if time <= self._late_before and self._is_late(time, event_id):
            stats.late += 1
            self._families[record.family].on_late(self._ctx, record.key, event, time)
            return
        st = self._state
        st.seq += 1
        heappush(self._buffer, (time, event_id, st.seq, record.family, record.key, event))

    def _is_late(self, time: int, event_id: str) -> bool:
        """Below the watermark, or sorting before the last event processed."""
        st = self._state
        if st.watermark is not None and time < st.watermark:
            return True
        return st.done is not None and (time, event_id) <= st.done

    def _reference(self, record: ReferenceRecord) -> None:
        st = self._state
        if record.source not in st.source_max:
            st.source_max[record.source] = None
            self._holder = None
        st.reference_sources.add(record.source)
        time = st.reference.apply(record.record)
        st.stats.references += 1
        if st.done is not None and time <= st.done[0]:
            st.stats.late_references += 1

    # -- progress -----------------------------------------------------------------------

    def _watermark(self, source: str, time: int) -> None:
        st = self._state
        known = source in st.source_max
        previous = st.source_max.get(source)
        if previous is None or time > previous:
            st.source_max[source] = time
        elif source not in st.idle:
            return
        if source in st.idle:
            st.idle.discard(source)
            self._holder = None
        if not known or self._holder is None or source == self._holder:
            self._advance()

    def _idle(self, source: str) -> None:
        st = self._state
        st.source_max.setdefault(source, None)
        if source in st.idle:
            return
        st.idle.add(source)
        self._holder = None
        self._advance()

    def _target(self) -> tuple[int | None, bool]:
        """(new watermark candidate, whether every known source is idle).

        The minimum of the active sources' maxima, less the lateness. Reference
        sources hold it back like any source but never set it: with no active
        event source, the candidate is the highest event time seen (the all-idle
        rule), still held back by active reference sources.
        """
        st = self._state
        lowest: int | None = None
        highest: int | None = None
        events_active, all_idle = False, True
        references = st.reference_sources
        for source, maximum in st.source_max.items():
            reference = source in references
            if maximum is not None and not reference and (highest is None or maximum > highest):
                highest = maximum
            if source in st.idle:
                continue
            all_idle = False
            if maximum is None:
                self._holder = source
                return None, False
            events_active = events_active or not reference
            if lowest is None or maximum < lowest:
                lowest, self._holder = maximum, source
        if lowest is None:
            self._holder = None
        if highest is None:
            return None, all_idle and bool(st.source_max)
        if lowest is not None and (events_active or lowest < highest):
            return lowest - self._lateness, all_idle
        return highest - self._lateness, all_idle

    def _advance(self) -> None:
        st = self._state
        target, drain = self._target()
        moved = target is not None and (st.watermark is None or target > st.watermark)
        if moved:
            st.watermark = target
        if not (moved or drain):
            return
        self._release(drain)
        self._fire()
        self._maintain()
        self._sync_late_before()

    def _release(self, drain: bool) -> None:
        st = self._state
        buffer, ctx = st.buffer, self._ctx
        handlers = {name: family.on_event for name, family in self._families.items()}
        limit = st.watermark
        last: tuple[int, str] | None = None
        count = 0
        while buffer:
            top = buffer[0]
            if not drain and (limit is None or top[0] >= limit):
                break
            time, event_id, _, family, key, event = heappop(buffer)
            handlers[family](ctx, key, event, time)
            last = (time, event_id)
            count += 1
        if last is not None:
            st.done = last
            st.stats.processed += count

    def _fire(self) -> None:
        st = self._state
        limit = st.watermark
        if limit is None:
            return
        timers, families, ctx = self._ctx.timers, self._families, self._ctx
        while timers and timers[0][0] < limit:
            deadline, _, family, key, payload = heappop(timers)
            families[family].on_timer(ctx, key, deadline, payload)
            st.stats.timers += 1

    def _sync_late_before(self) -> None:
        """Cache the time at or below which an arriving event may be late (``_is_late``)."""
        st = self._state
        bounds = [
            b for b in (st.watermark, None if st.done is None else st.done[0]) if b is not None
        ]
        self._late_before = max(bounds) if bounds else -(2**62)

    def _maintain(self) -> None:
        """Forget old event ids and prune state, as the watermark moves on."""
        wm = self._state.watermark
        if wm is None:
            return
        forget = (wm - self._dedupe_us) // _MINUTE
        if forget > self._forget_minute:
            self._forget_minute = forget
            seen = self._state.seen
            for minute in [m for m in self._buckets if m < forget]:
                for key in self._buckets.pop(minute):
                    seen.pop(key, None)
        hour = wm // _HOUR
        if hour > self._pruned_hour:
            self._pruned_hour = hour
            before = wm - self.config.state_horizon_s * SECOND_US
            self._state.reference.prune(before)
            for family in self._families.values():
                family.prune(self._ctx, before)
