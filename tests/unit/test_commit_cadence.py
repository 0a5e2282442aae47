"""The stages' commit cadence (``Transactions.due`` and ``wait_s``): from the last commit.

A stage commits once ``commit_interval_ms`` has passed since its last
commit, and its poll waits no longer than that: so under a steady feed it
commits every interval (not an interval after the first record of each
transaction plus a poll), and after a quiet spell at once.
"""

from __future__ import annotations

import threading

import pytest

from streams.kafka import transactions
from streams.kafka.transactions import Transactions
from streams.settings import Settings


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(f"{transactions.__name__}.time.monotonic", fake)
    return fake


def _txn() -> Transactions:
    # Nothing is sent: the producer is made but never connects (no broker on that port).
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", commit_interval_ms=100)
    return Transactions(settings, "cadence-test", threading.Event())


def test_nothing_to_commit_is_never_due_and_polls_wait_the_longest(clock: _Clock) -> None:
    txn = _txn()
    clock.now += 10
    assert not txn.due(False)
    assert txn.wait_s(False, 0.05) == 0.05


def test_pending_offsets_fall_due_one_interval_after_the_last_commit(clock: _Clock) -> None:
    txn = _txn()
    clock.now += 0.03
    assert not txn.due(True)
    assert txn.wait_s(True, 0.05) == pytest.approx(0.05)
    clock.now += 0.04
    assert txn.wait_s(True, 0.05) == pytest.approx(0.03)
    clock.now += 0.031
    assert txn.due(True)
    assert txn.wait_s(True, 0.05) == 0.0


def test_after_a_quiet_spell_the_first_records_are_due_at_once(clock: _Clock) -> None:
    txn = _txn()
    clock.now += 5.0
    assert txn.due(True)
    assert txn.wait_s(True, 0.05) == 0.0
