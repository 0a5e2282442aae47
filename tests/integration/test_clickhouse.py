"""clickhouse-driver over the native protocol against the stack's ClickHouse server."""

from __future__ import annotations

import datetime as dt

from clickhouse_driver import Client


def test_create_insert_select(ch_client: Client) -> None:
    ch_client.execute(
        "CREATE TABLE scans (day Date, checkpoint String, temperature Float32) "
        "ENGINE = MergeTree() PARTITION BY day ORDER BY checkpoint"
    )
    day = dt.date(2022, 10, 14)
    rows = [(day, "jinjiguan-toll", 36.5), (day, "caoba-toll", 38.6), (day, "caoba-toll", 36.9)]

    ch_client.execute("INSERT INTO scans (day, checkpoint, temperature) VALUES", rows)
    result = ch_client.execute(
        "SELECT checkpoint, count() FROM scans WHERE temperature >= 37.3 GROUP BY checkpoint"
    )

    assert result == [("caoba-toll", 1)]


def test_columnar_insert_and_replacing_merge_tree_final(ch_client: Client) -> None:
    ch_client.execute(
        "CREATE TABLE alerts (alert_id String, version UInt32) "
        "ENGINE = ReplacingMergeTree(version) ORDER BY alert_id"
    )
    columns = [["a1", "a2", "a1"], [1, 1, 2]]

    ch_client.execute("INSERT INTO alerts (alert_id, version) VALUES", columns, columnar=True)
    ch_client.execute("INSERT INTO alerts (alert_id, version) VALUES", [("a2", 1)])

    assert ch_client.execute("SELECT alert_id, version FROM alerts FINAL ORDER BY alert_id") == [
        ("a1", 2),
        ("a2", 1),
    ]


def test_each_test_has_its_own_database(ch_client: Client, ch_database: str) -> None:
    assert ch_client.execute("SELECT currentDatabase()") == [(ch_database,)]
