"""``rules.tune_gc``: the collector's settings for the worker."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from rules import tune_gc
from rules.tuning import GC_THRESHOLDS


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_raises_the_thresholds_and_freezes_what_exists() -> None:
    tune_gc()

    assert gc.get_threshold() == GC_THRESHOLDS
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_takes_other_thresholds_and_may_leave_objects_unfrozen() -> None:
    gc.unfreeze()
    tune_gc((10_000, 10, 10), freeze=False)

    assert gc.get_threshold() == (10_000, 10, 10)
    assert gc.get_freeze_count() == 0
