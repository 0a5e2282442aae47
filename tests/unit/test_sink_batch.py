"""``sinks.Batcher``: when a flush is due, and that a failed flush loses nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from sinks.batch import Batcher
from sinks.exceptions import StoreUnavailableError
from sinks.writer import BlockWriter
from tests.unit import sink_samples as s
from tests.unit.sink_samples import FakeStore

AT = datetime(2022, 10, 14, 8, 31, 7, tzinfo=s.CST)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_is_due_when_empty() -> None:
    assert not Batcher(FakeStore()).due()


def test_a_flush_is_due_at_max_rows() -> None:
    batcher = Batcher(FakeStore(), max_rows=2, clock=Clock())
    batcher.add_event(s.checkpoint_scan("a", AT))
    assert not batcher.due()

    batcher.add_alert(s.alert("a", AT))

    assert batcher.due()


def test_a_flush_is_due_when_the_oldest_row_is_max_age_old() -> None:
    clock = Clock()
    batcher = Batcher(FakeStore(), max_age=1.0, clock=clock)
    batcher.add_event(s.checkpoint_scan("a", AT))
    clock.now += 0.9
    assert not batcher.due()

    clock.now += 0.1

    assert batcher.due()


def test_flush_stores_one_columnar_block_per_table() -> None:
    store = FakeStore()
    batcher = Batcher(store)
    batcher.add_event(s.checkpoint_scan("a", AT))
    batcher.add_event(s.checkpoint_scan("b", AT))
    batcher.add_dead_letter(s.dead_letter(1, AT))

    assert batcher.flush() == 3

    assert [(table, columns[0]) for table, columns in store.blocks] == [
        ("checkpoint_scans", ["a", "b"]),
        ("dead_letters", ["feeds.checkpoint-scans"]),
    ]
    assert batcher.pending_rows == 0
    assert not batcher.due()


def test_a_failed_flush_keeps_the_rows_for_the_next() -> None:
    store = FakeStore()
    batcher = Batcher(store, max_rows=1)
    batcher.add_event(s.checkpoint_scan("a", AT))
    store.failing = {"checkpoint_scans"}

    with pytest.raises(StoreUnavailableError):
        batcher.flush()
    assert batcher.pending_rows == 1
    assert batcher.due()

    store.failing = set()
    assert batcher.flush() == 1
    assert store.blocks[0][1][0] == ["a"]


def test_a_partly_failed_flush_forgets_only_the_stored_tables() -> None:
    store = FakeStore()
    batcher = Batcher(store)
    batcher.add_event(s.checkpoint_scan("a", AT))
    batcher.add_alert(s.alert("a", AT))
    store.failing = {"alerts"}

    with pytest.raises(StoreUnavailableError):
        batcher.flush()

    assert (batcher.pending("checkpoint_scans"), batcher.pending("alerts")) == (0, 1)


def test_an_unknown_table_is_refused() -> None:
    with pytest.raises(KeyError):
        Batcher(FakeStore()).add("nope", ("x",))


def test_take_detaches_the_rows_as_a_columnar_block() -> None:
    batcher = Batcher(FakeStore())
    batcher.add_event(s.checkpoint_scan("a", AT))
    batcher.add_alert(s.alert("a", AT))

    block = batcher.take()

    assert block.rows == 2
    assert block.tables["checkpoint_scans"][0] == ["a"]
    assert (batcher.pending_rows, batcher.due()) == (0, False)


def test_a_block_writer_stores_blocks_and_reports_failures() -> None:
    stores = [FakeStore(), FakeStore()]
    writer = BlockWriter(stores)
    batcher = Batcher(stores[0])
    batcher.add_event(s.checkpoint_scan("a", AT))
    good = writer.submit(batcher.take())
    batcher.add_alert(s.alert("a", AT))
    for store in stores:
        store.failing = {"alerts"}
    bad = writer.submit(batcher.take())

    assert good.result() == 1
    with pytest.raises(StoreUnavailableError):
        bad.result()
    writer.close()
    assert sum(len(store.blocks) for store in stores) == 1
