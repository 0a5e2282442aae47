"""Everything an ``Engine`` remembers, and its JSON form (snapshot and restore).

Used by ``rules.engine.Engine``: it keeps its state in an ``EngineState``,
``Engine.snapshot()`` returns ``EngineState.to_json()`` (a dict that
``json.dumps`` accepts) and ``Engine.restore(data, config)`` rebuilds an
engine that continues exactly where the snapshot was taken: the buffer, the
timers, the remembered event ids, the sources' watermarks, the reference
history and every family's state. A snapshot carries ``version``; restoring
another version raises ``SnapshotError`` (the worker then rebuilds its state
from the input).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from heapq import heapify
from typing import Any, Final, cast

from pydantic_core import from_json, to_json

from rules.checkpoints import CheckpointFamily
from rules.context import FamilyRules, Timer
from rules.exceptions import SnapshotError
from rules.incidents import IncidentFamily
from rules.inspections import InspectionFamily
from rules.patrol import SiteFamily
from rules.people import PersonFamily
from rules.reference import ReferenceHistory
from rules.venues import VenueFamily
from schemas.clean import FAMILIES, Family, RuleEvent, load_clean_event

__all__ = [
    "SNAPSHOT_VERSION",
    "BufferedEvent",
    "EngineState",
    "EngineStats",
    "SeenKey",
    "StateImage",
    "new_families",
]

SNAPSHOT_VERSION: Final = 1
"""The snapshot format this module writes and reads."""

BufferedEvent = tuple[int, str, int, Family, str, RuleEvent]
"""(time in microseconds, event id, arrival sequence, family, key, event): the sort key
of docs/rules.md first, so a heap of these pops events in rule order."""

SeenKey = tuple[str, str, str]
"""(family, key, event id): one remembered event copy."""

_FAMILY_TYPES: Final[dict[str, Any]] = {
    "venue": VenueFamily,
    "person": PersonFamily,
    "checkpoint": CheckpointFamily,
    "incident": IncidentFamily,
    "site": SiteFamily,
    "inspection": InspectionFamily,
}


def new_families() -> dict[Family, FamilyRules]:
    """A fresh state for every rule family."""
    return {name: cast(FamilyRules, _FAMILY_TYPES[name]()) for name in FAMILIES}


@dataclass
class EngineStats:
    """Counters of one engine; the worker exports them as metrics."""

    events: int = 0
    """Event copies received."""
    duplicates: int = 0
    """Event copies dropped as exact duplicates (same family, key and event id)."""
    late: int = 0
    """Event copies late on arrival (per-event rules only)."""
    processed: int = 0
    """Event copies processed in order."""
    references: int = 0
    """Reference records received."""
    late_references: int = 0
    """Reference records whose time was not after the last processed event's."""
    timers: int = 0
    """Deadlines judged."""


_SLICE: Final = 20000
"""Remembered ids serialised per call while encoding an image: each call holds the
interpreter lock, so the engine's own thread gets a turn between slices."""


@dataclass(frozen=True, slots=True)
class StateImage:
    """An engine's state at one point (``EngineState.image``), to be encoded later."""

    head: bytes
    """Everything but the buffer and the remembered ids, as a JSON object."""
    buffer: list[BufferedEvent]
    """The buffered events (a copy of the list; the events are immutable)."""
    seen: dict[SeenKey, int]
    """The remembered ids (a copy)."""

    def encode(self, cache: dict[int, bytes] | None = None) -> bytes:
        """The checkpoint bytes: the JSON object of ``EngineState.to_json()``.

        Called on the engine stage's encoder thread. ``cache`` (arrival sequence ->
        that buffered event's encoded row) is the caller's memory of its previous
        encode of the same engine: rows found there are not encoded again, and the
        cache is left holding exactly the rows of this image (so it stays as large
        as the buffer). A buffered event is immutable, so its row never changes.
        """
        previous = cache if cache is not None else {}
        rows: dict[int, bytes] = {}
        for t, eid, seq, fam, key, ev in self.buffer:
            row = previous.get(seq)
            if row is None:
                row = (
                    to_json([t, eid, seq, fam, key])[:-1]
                    + b","
                    + ev.__pydantic_serializer__.to_json(ev, exclude_none=True)
                    + b"]"
                )
            rows[seq] = row
        parts = [self.head[:-1], b',"buffer":[', b",".join(rows.values()), b'],"seen":[']
        seen = list(self.seen.items())
        for start in range(0, len(seen), _SLICE):
            if start:
                parts.append(b",")
            parts.append(to_json([[*k, m] for k, m in seen[start : start + _SLICE]])[1:-1])
        parts.append(b"]}")
        if cache is not None:
            cache.clear()
            cache.update(rows)
        return b"".join(parts)


@dataclass
class EngineState:
    """The whole mutable state of one engine partition."""

    source_max: dict[str, int | None] = field(default_factory=dict)
    """Per known source, its highest event time (microseconds); None before its first marker."""
    idle: set[str] = field(default_factory=set)
    """Sources marked idle (and not active again since)."""
    reference_sources: set[str] = field(default_factory=set)
    """Sources that carried reference records: left out of the all-idle maximum."""
    watermark: int | None = None
    """The effective watermark (microseconds), never moving backwards."""
    done: tuple[int, str] | None = None
    """The sort key of the last event processed."""
    buffer: list[BufferedEvent] = field(default_factory=list)
    """On-time events waiting for the watermark, as a heap."""
    seq: int = 0
    """Arrival counter (ties in the buffer)."""
    seen: dict[SeenKey, int] = field(default_factory=dict)
    """Remembered event copies -> their minute of event time (for forgetting)."""
    timers: list[Timer] = field(default_factory=list)
    """Deadlines, as a heap."""
    timer_seq: int = 0
    """Timer counter (ties in the heap)."""
    reference: ReferenceHistory = field(default_factory=ReferenceHistory)
    """Risk areas and venues, with history."""
    families: dict[Family, FamilyRules] = field(default_factory=new_families)
    """Each family's state."""
    stats: EngineStats = field(default_factory=EngineStats)
    """Counters."""

    def image(self) -> StateImage:
        """A copy of this state as it is now, cheap to take (tens of ms for tens of MB):
        everything but the buffer and the remembered ids as JSON, those two as copies of
        their containers (the events in them are immutable). ``StateImage.encode`` makes
        the checkpoint bytes from it, on any thread, while this state moves on."""
        head = self._head()
        return StateImage(to_json(head), list(self.buffer), dict(self.seen))

    def to_bytes(self) -> bytes:
        """``to_json()`` as compact UTF-8 JSON: the checkpoint format of the worker."""
        return self.image().encode()

    def _head(self) -> dict[str, Any]:
        return {
            "version": SNAPSHOT_VERSION,
            "sources": [
                [s, m, s in self.idle, s in self.reference_sources]
                for s, m in self.source_max.items()
            ],
            "watermark": self.watermark,
            "done": None if self.done is None else list(self.done),
            "seq": self.seq,
            "timers": [list(timer) for timer in self.timers],
            "timer_seq": self.timer_seq,
            "reference": self.reference.as_json(),
            "families": {name: family.as_json() for name, family in self.families.items()},
            "stats": vars(self.stats),
        }

    @classmethod
    def from_bytes(cls, raw: bytes) -> EngineState:
        """The state ``to_bytes`` wrote; raises ``SnapshotError`` for anything else."""
        try:
            data = from_json(raw)
        except ValueError as err:
            raise SnapshotError(f"engine snapshot is not JSON: {err}") from err
        return cls.from_json(data)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of everything (``json.dumps`` takes it as it is)."""
        return {
            "version": SNAPSHOT_VERSION,
            "sources": [
                [s, m, s in self.idle, s in self.reference_sources]
                for s, m in self.source_max.items()
            ],
            "watermark": self.watermark,
            "done": None if self.done is None else list(self.done),
            "buffer": [
                [t, eid, seq, fam, key, ev.model_dump(mode="json", exclude_none=True)]
                for t, eid, seq, fam, key, ev in self.buffer
            ],
            "seq": self.seq,
            "seen": [[*key, minute] for key, minute in self.seen.items()],
            "timers": [list(timer) for timer in self.timers],
            "timer_seq": self.timer_seq,
            "reference": self.reference.as_json(),
            "families": {name: family.as_json() for name, family in self.families.items()},
            "stats": vars(self.stats),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineState:
        """The state ``to_json`` wrote; raises ``SnapshotError`` for anything else."""
        if not isinstance(data, dict) or data.get("version") != SNAPSHOT_VERSION:
            raise SnapshotError(
                f"not an engine snapshot of version {SNAPSHOT_VERSION}; rebuild from the input"
            )
        try:
            return _load(data)
        except (KeyError, TypeError, ValueError) as err:
            raise SnapshotError(f"engine snapshot is damaged: {err!r}") from err


def _load(data: dict[str, Any]) -> EngineState:
    state = EngineState()
    for source, maximum, idle, reference in data["sources"]:
        state.source_max[source] = maximum
        if idle:
            state.idle.add(source)
        if reference:
            state.reference_sources.add(source)
    state.watermark = data["watermark"]
    state.done = None if data["done"] is None else (int(data["done"][0]), str(data["done"][1]))
    for t, eid, seq, fam, key, event in data["buffer"]:
        loaded = cast(RuleEvent, load_clean_event(event))
        state.buffer.append((int(t), eid, int(seq), fam, key, loaded))
    heapify(state.buffer)
    state.seq = int(data["seq"])
    state.seen = {(fam, key, eid): int(minute) for fam, key, eid, minute in data["seen"]}
    state.timers = [
        (int(d), int(s), fam, key, payload) for d, s, fam, key, payload in data["timers"]
    ]
    heapify(state.timers)
    state.timer_seq = int(data["timer_seq"])
    state.reference = ReferenceHistory.from_json(data["reference"])
    state.families = {
        name: cast(FamilyRules, _FAMILY_TYPES[name].from_json(data["families"][name]))
        for name in FAMILIES
    }
    state.stats = EngineStats(**data["stats"])
    return state
