"""The one commit policy: an offset is committed only once what was made from it is durable.

Used by every reader of the pipeline: the worker's ingest and engine stages
(durable = their Kafka transaction committed, the offsets going into that
same transaction) and the sink (durable = the rows stored in ClickHouse, the
offsets committed after). A reader tells the ledger the offset after each
record it has handled (``read``); when it makes its writes durable it
``cut`` s: the cut holds the offsets read so far. Cuts may become durable
out of order (two ClickHouse flushes in flight); ``durable`` releases offsets
in cut order only, up to the newest cut such that it and every earlier cut
are durable. So a crash at any point leaves committed offsets that are never
ahead of the durable output: at least once, and exactly once where the output
and the offsets share a transaction.

Pure bookkeeping: no Kafka, no clock, never raises for data.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Cut", "OffsetLedger", "Partition"]

Partition = tuple[str, int]
"""(topic, partition)."""


@dataclass(eq=False, slots=True)
class Cut:
    """The offsets read up to one point, committable once the writes before it are durable."""

    offsets: dict[Partition, int]
    """Per partition, the offset after the last record handled before the cut."""
    durable: bool = False
    """Whether the writes made from those records are durable."""


@dataclass(slots=True)
class OffsetLedger:
    """Offsets read and not yet committed, and the cuts waiting to be; see the module docstring."""

    _read: dict[Partition, int] = field(default_factory=dict)
    _cuts: deque[Cut] = field(default_factory=deque)

    def read(self, partition: Partition, next_offset: int) -> None:
        """Note that every record of ``partition`` before ``next_offset`` has been handled."""
        self._read[partition] = next_offset

    @property
    def pending(self) -> bool:
        """Whether records were handled since the last cut."""
        return bool(self._read)

    @property
    def waiting(self) -> int:
        """Cuts not yet released (not durable, or behind one that is not)."""
        return len(self._cuts)

    def cut(self) -> Cut:
        """Freeze the offsets read since the last cut into a new cut (possibly empty)."""
        cut = Cut(self._read)
        self._read = {}
        self._cuts.append(cut)
        return cut

    def durable(self, cut: Cut) -> dict[Partition, int]:
        """Mark ``cut`` durable; the offsets that may now be committed (often none).

        Released offsets are those of every cut, oldest first, up to the first
        cut that is not durable yet; a later cut's offset for a partition wins.
        """
        cut.durable = True
        released: dict[Partition, int] = {}
        while self._cuts and self._cuts[0].durable:
            released.update(self._cuts.popleft().offsets)
        return released

    def revoke(self, partitions: Iterable[Partition]) -> None:
        """Forget ``partitions``: their records will be read again by whoever gets them."""
        gone = set(partitions)
        for offsets in (self._read, *(c.offsets for c in self._cuts)):
            for partition in gone & offsets.keys():
                del offsets[partition]

    def reset(self) -> None:
        """Forget everything read and every cut (after an abort: the reader rewinds)."""
        self._read = {}
        self._cuts.clear()
