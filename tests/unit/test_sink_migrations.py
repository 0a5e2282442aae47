"""The migration list and its DDL: ordered, idempotent, portable to ClickHouse 18.16."""

from __future__ import annotations

import re

import pytest

from rules.config import default_config
from sinks.ddl import AGGREGATES, COLUMNS
from sinks.migrations import MIGRATIONS
from sinks.queries import operator_queries
from streams.settings import PROJECT_ROOT

STATEMENTS = [statement for m in MIGRATIONS for statement in m.statements]
_DEFAULTS = default_config().thresholds
DEFAULT_QUERIES = operator_queries(
    _DEFAULTS.temperature_required_types, _DEFAULTS.medicine_categories
)


def test_versions_count_up_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_every_statement_can_run_twice() -> None:
    assert all("IF NOT EXISTS" in statement for statement in STATEMENTS)


@pytest.mark.parametrize("missing_on_18_16", ["LowCardinality", "DateTime64", "TTL"])
def test_no_statement_needs_a_newer_clickhouse(missing_on_18_16: str) -> None:
    assert not any(re.search(rf"\b{missing_on_18_16}\b", s) for s in STATEMENTS)


def test_every_table_aggregate_and_view_is_created() -> None:
    created = {re.findall(r"IF NOT EXISTS (\w+)", s)[0] for s in STATEMENTS}

    assert created == {*COLUMNS, *AGGREGATES, *(f"{name}_mv" for name in AGGREGATES)}


def test_stored_tables_replace_by_identity() -> None:
    tables = [s for s in STATEMENTS if s.startswith("CREATE TABLE") and "per_minute" not in s]

    assert all("ReplacingMergeTree" in s and "PARTITION BY toYYYYMMDD" in s for s in tables)


def test_the_failure_query_lists_the_thresholds_it_is_given_in_their_order() -> None:
    sql = operator_queries(["hotel", "mall"], ["cough"])[
        "venues with most protocol failures this week"
    ]

    assert "WHERE type IN ('hotel', 'mall')" in sql
    assert "purchase_category IN ('cough')" in sql


@pytest.mark.parametrize("title", list(DEFAULT_QUERIES))
def test_docs_show_each_operator_query_verbatim_with_the_default_thresholds(title: str) -> None:
    docs = (PROJECT_ROOT / "docs" / "storage.md").read_text(encoding="utf-8")

    assert DEFAULT_QUERIES[title] in docs
