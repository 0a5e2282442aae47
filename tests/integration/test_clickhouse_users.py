"""ClickHouse least privilege on the local server: a writing user and a read-only one.

Issue 14. The sink writing as ``controlfeed_writer`` is
``test_sink_worker.test_the_sample_lands_in_the_store_once[server]`` (its worker
runs with that user and its password file); here the read-only
``controlfeed_reader``, ``controlfeed query``'s read-only default, and passwords
never shown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sinks import migrate
from sinks.exceptions import QueryError
from streams import stores
from streams.devtools.stack import ClickHouseService, Stack
from streams.devtools.stack.clickhouse import READER, WRITER
from streams.settings import Settings
from tests.integration.helpers import run_cli


@pytest.fixture
def users(stack: Stack, settings: Settings, ch_database: str, tmp_path: Path) -> Settings:
    """Settings that write as the writer and read as the reader, on the test's database."""
    server = ClickHouseService(settings)
    return settings.model_copy(update={
        "clickhouse_url": server.url(WRITER, ch_database),
        "clickhouse_password_file": server.password_file(WRITER),
        "clickhouse_read_url": server.url(READER, ch_database),
        "clickhouse_read_password_file": server.password_file(READER),
        "data_dir": tmp_path,
    })  # fmt: skip


def _env(settings: Settings) -> dict[str, str]:
    return {f"CONTROLFEED_{k.upper()}": str(getattr(settings, k)) for k in (
        "clickhouse_url", "clickhouse_password_file", "clickhouse_read_url",
        "clickhouse_read_password_file", "data_dir")}  # fmt: skip


def test_the_reader_reads_and_cannot_insert_or_drop(users: Settings) -> None:
    writer = stores.writer(users)
    migrate(writer)  # the writer may create the tables
    writer.close()
    reader = stores.reader(users)
    try:
        assert reader.query("SELECT count() FROM alerts").rows == [(0,)]
        for statement in ("INSERT INTO alerts (alert_id) VALUES ('x')", "DROP TABLE alerts",
                          "CREATE TABLE zz (a UInt8) ENGINE = Memory"):  # fmt: skip
            with pytest.raises(QueryError, match="readonly"):
                reader.execute(statement)
    finally:
        reader.close()


def test_query_reads_by_default_and_writes_only_when_told(users: Settings) -> None:
    env = _env(users)
    files = (users.clickhouse_password_file, users.clickhouse_read_password_file)
    passwords = [Path(str(p)).read_text().strip() for p in files]

    refused = run_cli("query", "DROP DATABASE IF EXISTS foo", env=env)
    created = run_cli("query", "--write", "CREATE TABLE t (a UInt8) ENGINE = Memory", env=env)
    listed = run_cli("query", "--format", "csv", "SHOW TABLES", env=env)
    bad = run_cli("query", "SELECT 1", env={**env, "CONTROLFEED_CLICKHOUSE_READ_PASSWORD_FILE":
                                            str(users.clickhouse_password_file)})  # fmt: skip
    inline = env | {
        "CONTROLFEED_CLICKHOUSE_READ_URL": users.clickhouse_read_url.replace(
            READER, f"{READER}:{passwords[1]}x", 1
        )
    }
    wrong = run_cli("query", "SELECT 1", env=inline)

    assert refused.returncode == 2 and "--write" in refused.stderr
    assert created.returncode == 0, created.stderr
    assert listed.returncode == 0 and "t\n" in listed.stdout
    assert bad.returncode == 2 and "Wrong password" in bad.stderr  # the reader's file is used
    assert wrong.returncode == 2 and READER in wrong.stderr
    for result in (refused, created, listed, bad, wrong):
        for password in passwords:
            assert password not in result.stdout + result.stderr
