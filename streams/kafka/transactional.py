"""``TransactionalStage``: a ``Stage`` whose output and input offsets commit in one transaction.

The base of the worker's ingest and engine stages (``streams.worker``). It
holds the stage's ``Transactions`` (``streams.kafka.transactions``) and its
``OffsetLedger`` (``streams.kafka.commits``), and owns what both stages do
alike: how long a poll may wait before the commit falls due, the commit
itself (offsets moved past control records, the ledger told what became
durable, the outcome counted under the stage's name), and the abort when
partitions are lost. A subclass sends its records with ``self.txn.send``,
tells ``self.ledger`` what it read, and decides what an abort means for its
own state (ingest rewinds to the committed offsets, the engines to their
checkpoints).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from streams.kafka.commits import OffsetLedger
from streams.kafka.stage import POLL_S, Stage
from streams.kafka.transactions import Transactions
from streams.metrics import record_transaction
from streams.settings import Settings

__all__ = ["TransactionalStage"]


class TransactionalStage(Stage):
    """A stage that writes in Kafka transactions; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        group: str,
        topics: Sequence[str],
        client_id: str,
        stop: threading.Event,
        **overrides: Any,
    ) -> None:
        """``client_id`` is also the transactional id (stable per worker: it fences a
        killed predecessor)."""
        super().__init__(settings, group, topics, client_id, stop, **overrides)
        self.txn = Transactions(settings, client_id, stop)
        self.ledger = OffsetLedger()

    @property
    def uncommitted(self) -> bool:
        """Whether a transaction is open or offsets were read since the last commit."""
        return self.txn.open or self.ledger.pending

    def open(self) -> None:
        """Register the transactional producer (fencing a killed predecessor)."""
        self.txn.start()

    def poll_timeout(self) -> float:
        """Up to the moment the commit falls due (``Transactions.wait_s``)."""
        return self.txn.wait_s(self.ledger.pending, POLL_S)

    def commit(self) -> bool:
        """Commit the records sent and the offsets read; False when the transaction was
        aborted instead (the caller rewinds, or lets its partitions go)."""
        cut = self.ledger.cut()
        offsets = self.commit_offsets(cut.offsets)
        started = time.monotonic()
        committed = self.txn.commit(offsets, self.consumer.consumer_group_metadata())
        record_transaction(self.name, committed, time.monotonic() - started)
        if committed:
            self.ledger.durable(cut)
        else:
            self.ledger.reset()
            self.forget_commits()
        return committed

    def abort_lost(self) -> None:
        """Partitions were lost: abort what is open; the new owner redoes it."""
        if self.txn.open:
            self.txn.abort("partitions lost")
            record_transaction(self.name, False)
        self.ledger.reset()
