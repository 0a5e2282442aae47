"""Stores without a store: missing chDB, an unreachable server, retention days, output formats."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sinks.exceptions import MissingDependencyError, StoreUnavailableError
from sinks.factory import open_store
from sinks.retention import cutoff_day
from sinks.server import ServerStore
from sinks.store import QueryResult
from streams.ops.query import format_csv, format_json_lines
from tests.unit.sink_samples import CST


def test_without_chdb_and_url_the_error_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_import = builtins.__import__

    def no_chdb(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "chdb":
            raise ImportError("No module named 'chdb'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_chdb)

    with pytest.raises(MissingDependencyError) as caught:
        open_store("", tmp_path)

    assert "pip install 'controlfeed[embedded]'" in caught.value.hint
    assert "CONTROLFEED_CLICKHOUSE_URL" in caught.value.hint


def test_retention_keeps_today_and_the_days_before() -> None:
    now = datetime(2022, 10, 28, 17, 0, tzinfo=UTC)  # already 29 October in Shanghai

    assert cutoff_day(28, now) == 20221002
    assert cutoff_day(1, now) == 20221029


def test_retention_keeps_at_least_a_day() -> None:
    with pytest.raises(ValueError):
        cutoff_day(0, datetime.now(UTC))


RESULT = QueryResult(
    ("rule", "minute", "n", "grid"),
    ("String", "DateTime('Asia/Shanghai')", "UInt64", "Nullable(String)"),
    [("fever", datetime(2022, 10, 14, 8, 31, tzinfo=CST), 3, None)],
)


def test_csv_has_a_header_and_empty_nulls() -> None:
    assert format_csv(RESULT) == "rule,minute,n,grid\nfever,2022-10-14 08:31:00,3,\n"


def test_json_lines_keep_types_and_offsets() -> None:
    assert format_json_lines(RESULT) == (
        '{"rule": "fever", "minute": "2022-10-14T08:31:00+08:00", "n": 3, "grid": null}\n'
    )


def test_an_unreachable_server_is_a_retryable_error() -> None:
    store = ServerStore("clickhouse://127.0.0.1:1/default", connect_timeout=1)

    with pytest.raises(StoreUnavailableError) as caught:
        store.query("SELECT 1")

    assert "unreachable" in str(caught.value)
    assert "CONTROLFEED_CLICKHOUSE_URL" in caught.value.hint
