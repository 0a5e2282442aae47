"""How ``controlfeed worker --processes N`` divides the work among its children."""

from __future__ import annotations

from streams.settings import Settings
from streams.worker.processes import _child_settings, child_name, child_roles
from streams.worker.runtime import ROLES


def test_one_process_runs_every_stage() -> None:
    assert child_roles(0, 1) == ROLES


def test_even_children_ingest_and_odd_ones_run_the_engines() -> None:
    roles = [child_roles(i, 4) for i in range(4)]
    assert roles == [("ingest", "sink"), ("engine",), ("ingest", "sink"), ("engine",)]
    assert {r for rs in (child_roles(i, 3) for i in range(3)) for r in rs} == set(ROLES)


def test_children_are_named_after_the_parent_and_run_one_process_each() -> None:
    child = _child_settings(Settings(worker_processes=4), "host-0", 2)
    assert child.worker_id == child_name("host-0", 2) == "host-0.p2"
    assert child.worker_processes == 1


def test_with_the_embedded_store_only_child_zero_runs_the_sink() -> None:
    embedded = Settings(clickhouse_url="")
    assert _child_settings(embedded, "w", 0).sink_enabled
    assert not _child_settings(embedded, "w", 2).sink_enabled
    server = Settings(clickhouse_url="clickhouse://127.0.0.1:9000/default")
    assert _child_settings(server, "w", 2).sink_enabled
