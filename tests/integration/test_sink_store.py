"""The sink's storage on both stores: the 18.16 server and chDB, one suite.

Every test runs twice, against a database of its own on the local ClickHouse
server (Debian's 18.16) and against chDB in a temporary path; the server is
started if it is not running and stopped at the end only if this module
started it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from clickhouse_driver import Client

from rules import default_config
from sinks import Batcher, Store, drop_old_partitions, migrate, open_store
from sinks.ddl import COLUMNS, MIGRATIONS_TABLE
from sinks.migrations import MIGRATIONS
from sinks.queries import ALERT_TRAIL, AlertFilter, alert_history_sql, operator_queries
from streams.cli import cli
from streams.devtools.stack import ServiceState, Stack
from streams.exceptions import ControlfeedError
from streams.settings import Settings
from tests.unit import sink_samples as s

NOW = datetime.now(UTC)
RAWS = (*s.RAW_IDS, *s.RAW_PHONES)


@pytest.fixture(scope="module")
def clickhouse(settings: Settings) -> Iterator[Settings]:
    """The local ClickHouse server, up; stopped afterwards only if started here."""
    stack = Stack(settings, ("clickhouse",))
    was = stack.status()[0].state
    stack.up()
    yield settings
    if was == ServiceState.STOPPED:
        stack.down()


@pytest.fixture(params=["server", "chdb"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The CONTROLFEED_* values that point at a fresh store of either kind."""
    if request.param == "chdb":
        yield {"CONTROLFEED_CLICKHOUSE_URL": "", "CONTROLFEED_DATA_DIR": str(tmp_path)}
        return
    settings: Settings = request.getfixturevalue("clickhouse")
    name = f"test_sink_{uuid.uuid4().hex[:12]}"
    admin = Client("127.0.0.1", port=settings.clickhouse_tcp_port)
    admin.execute(f"CREATE DATABASE {name}")
    yield {
        "CONTROLFEED_CLICKHOUSE_URL": f"clickhouse://127.0.0.1:{settings.clickhouse_tcp_port}/{name}",
        "CONTROLFEED_DATA_DIR": str(tmp_path),
    }
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.disconnect()


@pytest.fixture
def store(where: dict[str, str]) -> Iterator[Store]:
    """A migrated store (server database or chDB path) unique to the test."""
    opened = open_store(
        where["CONTROLFEED_CLICKHOUSE_URL"], Path(where["CONTROLFEED_DATA_DIR"]) / "chdb"
    )
    migrate(opened)
    yield opened
    opened.close()


def _count(store: Store, sql: str) -> int:
    return int(store.query(sql).rows[0][0])


def _fill(batcher: Batcher, at: datetime) -> Batcher:
    batcher.add_event(s.checkpoint_scan("cp-1", at))
    batcher.add_event(s.checkpoint_scan("cp-2", at + timedelta(seconds=1)))
    batcher.add_event(s.venue_scan("vs-1", at))
    batcher.add_event(s.patrol_event("pe-1", at))
    batcher.add_event(s.risk_area(at))
    batcher.add_event(s.venue("v-pharmacy", "pharmacy", at))
    batcher.add_alert(s.alert("cp-1", at))
    batcher.add_dead_letter(s.dead_letter(7, at))
    batcher.add_alert_action(s.alert_action(1, at), 0, 41)
    return batcher


def _schema(store: Store) -> list[tuple[object, ...]]:
    tables = store.query(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() ORDER BY name"
    ).rows
    columns = store.query(
        "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() "
        "ORDER BY table, name"
    ).rows
    return [*tables, *columns]


def test_migrations_twice_change_nothing(store: Store) -> None:
    before = _schema(store)

    assert migrate(store) == []

    assert _schema(store) == before
    assert _count(store, f"SELECT count() FROM {MIGRATIONS_TABLE}") == len(MIGRATIONS)


def test_a_batch_stored_twice_leaves_no_visible_duplicate(store: Store) -> None:
    for _ in range(2):
        assert _fill(Batcher(store), NOW).flush() == 9

    counts = {t: _count(store, f"SELECT count() FROM {t} FINAL") for t in COLUMNS}
    assert counts == {
        "checkpoint_scans": 2,
        "venue_scans": 1,
        "patrol_events": 1,
        "risk_areas": 1,
        "venues": 1,
        "alerts": 1,
        "dead_letters": 1,
        "alert_actions": 1,
    }
    assert _count(store, "SELECT count() FROM checkpoint_scans") >= 2


def test_the_audit_trail_keeps_the_action_the_topic_applied(store: Store) -> None:
    batcher = Batcher(store)
    ack = s.alert_action(3, NOW).model_copy(update={"version": 1, "action_id": "a" * 32})
    lost = {"action": "dismiss", "status": "dismissed", "action_id": "b" * 32}
    late = ack.model_copy(update=lost)
    resolve = ack.model_copy(update={"version": 2, "action": "resolve", "status": "resolved",
                                     "action_id": "c" * 32})  # fmt: skip
    for state, offset in ((ack, 10), (late, 11), (resolve, 12)):  # late lost the race
        batcher.add_alert_action(state, 0, offset)
    batcher.flush()

    trail = store.query(ALERT_TRAIL.format(alert_id=ack.alert_id)).rows

    assert [(row[1], row[3]) for row in trail] == [("ack", "acknowledged"), ("resolve", "resolved")]


def _history(
    store: Store, where: AlertFilter, limit: int = 10, offset: int = 0
) -> tuple[int, list[tuple[str, str]]]:
    count, page = alert_history_sql(where, limit, offset)
    return _count(store, count), [(row[0], row[-3]) for row in store.query(page).rows]


def test_the_alert_history_finds_stored_alerts_with_their_current_status(store: Store) -> None:
    alerts = [
        s.alert(f"cp-{n}", NOW + timedelta(minutes=n), grid=f"grid-{n % 2}") for n in range(5)
    ]
    batcher = Batcher(store)
    for alert in alerts:
        batcher.add_alert(alert)
    ack = s.alert_action(3, NOW).model_copy(update={"alert_id": alerts[1].alert_id, "version": 1})
    lost = ack.model_copy(
        update={"action": "dismiss", "status": "dismissed", "action_id": "b" * 32}
    )
    resolve = ack.model_copy(update={"version": 2, "action": "resolve", "status": "resolved",
                                     "action_id": "c" * 32})  # fmt: skip
    won = ack.model_copy(update={"alert_id": alerts[2].alert_id, "action_id": "d" * 32})
    beaten = won.model_copy(
        update={"action": "dismiss", "status": "dismissed", "action_id": "e" * 32}
    )
    for state, offset in ((ack, 10), (lost, 11), (resolve, 12), (won, 20), (beaten, 21)):
        batcher.add_alert_action(state, 0, offset)
    batcher.flush()
    for alert in alerts:  # the alerts stored twice: each found once
        batcher.add_alert(alert)
    batcher.flush()
    ids = [a.alert_id for a in alerts]

    total, rows = _history(store, AlertFilter())
    assert total == 5 and [i for i, _ in rows] == ids[::-1]  # newest event first
    assert dict(rows) == {ids[0]: "new", ids[1]: "resolved", ids[2]: "acknowledged",
                          ids[3]: "new", ids[4]: "new"}  # fmt: skip
    assert _history(store, AlertFilter(statuses=("new",)))[0] == 3
    assert _history(store, AlertFilter(statuses=("dismissed",)))[0] == 0
    assert _history(store, AlertFilter(grids=("grid-1",)))[0] == 2
    assert _history(store, AlertFilter(since=NOW + timedelta(minutes=3)))[0] == 2
    assert _history(store, AlertFilter(until=NOW + timedelta(minutes=1)))[0] == 1
    assert _history(store, AlertFilter(text="CP-3"))[0] == 0  # evidence ids are not searched
    assert _history(store, AlertFilter(text=ids[3][:10].upper()))[1] == [(ids[3], "new")]
    assert _history(store, AlertFilter(text="it's \\ odd"))[0] == 0  # quoted, not SQL
    assert _history(store, AlertFilter(place="v-pharmacy", rules=("fever",)))[0] == 5
    assert [i for i, _ in _history(store, AlertFilter(), limit=2, offset=2)[1]] == ids[2:0:-1]
    assert _history(store, AlertFilter(alert_ids=(ids[1], "f" * 32))) == (1, [(ids[1], "resolved")])


def test_per_minute_aggregates_stay_exact_when_a_batch_is_stored_twice(store: Store) -> None:
    for _ in range(2):
        _fill(Batcher(store), NOW).flush()

    scans = "SELECT uniqExactMerge(scans) FROM checkpoint_scans_per_minute"
    venue = "SELECT uniqExactMerge(scans) FROM venue_scans_per_minute"
    alerts = "SELECT uniqExactMerge(alerts) FROM alerts_per_minute"
    assert (_count(store, scans), _count(store, venue), _count(store, alerts)) == (2, 1, 1)


def test_retention_drops_an_old_day_and_keeps_the_current_one(store: Store) -> None:
    old = NOW - timedelta(days=40)
    batcher = Batcher(store)
    _fill(batcher, old)
    batcher.add_event(s.checkpoint_scan("cp-now", NOW))
    batcher.add_alert(s.alert("cp-now", NOW))
    batcher.flush()

    dropped = drop_old_partitions(store, days=28, now=NOW)

    assert {d.table for d in dropped} == {
        "checkpoint_scans",
        "venue_scans",
        "patrol_events",
        "alerts",
        "dead_letters",
        "alert_actions",
        "checkpoint_scans_per_minute",
        "venue_scans_per_minute",
        "alerts_per_minute",
    }
    assert store.query("SELECT event_id FROM checkpoint_scans FINAL").rows == [("cp-now",)]
    assert _count(store, "SELECT count() FROM alerts FINAL") == 1
    assert _count(store, "SELECT count() FROM venues FINAL") == 1  # reference data is kept
    assert drop_old_partitions(store, days=28, now=NOW) == []


def test_retention_counts_days_from_the_newest_event_not_the_wall_clock(store: Store) -> None:
    replayed = NOW - timedelta(days=1500)  # a historical file, replayed today
    batcher = Batcher(store)
    batcher.add_event(s.checkpoint_scan("cp-then", replayed))
    batcher.add_event(s.checkpoint_scan("cp-before", replayed - timedelta(days=40)))
    batcher.flush()

    dropped = drop_old_partitions(store, days=28, now=NOW)

    assert [d.table for d in dropped] == ["checkpoint_scans", "checkpoint_scans_per_minute"]
    assert store.query("SELECT event_id FROM checkpoint_scans FINAL").rows == [("cp-then",)]


def test_an_event_dated_in_the_future_does_not_make_the_present_old(store: Store) -> None:
    batcher = Batcher(store)
    batcher.add_event(s.checkpoint_scan("cp-now", NOW))
    batcher.add_event(s.checkpoint_scan("cp-future", NOW + timedelta(days=400)))
    batcher.flush()

    assert drop_old_partitions(store, days=28, now=NOW) == []


def _scenario(store: Store, now: datetime) -> None:
    """The operators' data at ``now``: the caller's clock, not the import's, since "today"
    is a day of China Standard Time, which may have turned since (a run across 16:00 UTC)."""
    batcher = Batcher(store)
    for kind, venue_id in (("pharmacy", "v-pharmacy"), ("mall", "v-mall"), ("mahjong", "v-mj")):
        batcher.add_event(s.venue(venue_id, kind, now - timedelta(days=60)))
    failing = [
        s.venue_scan("f1", now, temperature_c=None),
        s.venue_scan(
            "f2", now, temperature_c=None, purchase={"category": "fever", "registered": False}
        ),
        s.venue_scan("f3", now, purchase={"category": "cough", "registered": False}),
        s.venue_scan("f4", now, venue="v-mall", role="staff", mask=False),
    ]
    passing = [
        s.venue_scan("p1", now),
        s.venue_scan("p2", now, venue="v-mall", role="staff", mask=None),
        s.venue_scan("p3", now, venue="v-mj", temperature_c=None),
        s.venue_scan("p4", now, purchase={"category": "other", "registered": False}),
    ]
    for scan in failing + passing:
        batcher.add_event(scan)
    for i in range(3):
        batcher.add_event(s.checkpoint_scan(f"cp-{i}", now))
    batcher.add_alert(s.alert("f1", now))
    batcher.add_alert(s.alert("f2", now, grid=None))
    batcher.flush()


def test_the_operators_queries_answer_on_data_stored_twice(store: Store) -> None:
    now = datetime.now(UTC)
    _scenario(store, now)
    _scenario(store, now)
    th = default_config().thresholds
    queries = operator_queries(th.temperature_required_types, th.medicine_categories)
    answers = {title: store.query(sql).rows for title, sql in queries.items()}

    assert answers["alerts per rule and grid today"] == [
        ("fever", "", 1),
        ("fever", "qingjiang-3", 1),
    ]
    [(checkpoint, _, scans)] = answers["scans per checkpoint per hour today"]
    assert (checkpoint, scans) == ("jinjiguan-toll", 3)
    failures = [
        (row[0], row[2], row[4]) for row in answers["venues with most protocol failures this week"]
    ]
    assert failures == [("v-pharmacy", "pharmacy", 3), ("v-mall", "mall", 1)]


def test_controlfeed_query_prints_a_table(store: Store, where: dict[str, str]) -> None:
    _scenario(store, datetime.now(UTC))

    result = CliRunner().invoke(
        cli,
        [
            "query",
            "SELECT venue_id, count() AS scans FROM venue_scans FINAL "
            "GROUP BY venue_id ORDER BY venue_id",
        ],
        env=where,
    )

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(re.search(r"│ v-mall\s+│\s+2 │", line) for line in lines), result.output
    assert lines[-1] == "3 rows"


def test_controlfeed_query_turns_bad_sql_into_a_user_error(where: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["query", "SELEC 1"], env=where)

    assert isinstance(result.exception, ControlfeedError)
    assert "SELEC" in str(result.exception) or "Syntax" in str(result.exception)


def test_controlfeed_query_says_when_a_worker_holds_the_chdb_path(tmp_path: Path) -> None:
    held = open_store("", tmp_path / "chdb")
    try:
        migrate(held)
        done = subprocess.run(
            [sys.executable, "-c", "from streams.cli import main; main()", "query", "SELECT 1"],
            env={
                **os.environ,
                "CONTROLFEED_CLICKHOUSE_URL": "",
                "CONTROLFEED_DATA_DIR": str(tmp_path),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        held.close()

    assert done.returncode == 2
    assert "open in another process" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr


def test_no_raw_id_or_phone_number_in_any_string_column(store: Store) -> None:
    _fill(Batcher(store), NOW).flush()
    _scenario(store, datetime.now(UTC))
    columns = store.query(
        "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() "
        "AND type LIKE '%String%' AND type NOT LIKE 'AggregateFunction%'"
    ).rows
    assert len(columns) > 30

    found = []
    for table, name, kind in columns:
        if (table, name) == ("checkpoint_scans", "person_masked"):  # the scan itself works
            assert _count(store, f"SELECT count() FROM {table} WHERE position({name}, '5***') > 0")
        value = (
            f"arrayStringConcat(`{name}`, ' ')" if "Array" in str(kind) else f"ifNull(`{name}`, '')"
        )
        hits = _count(
            store,
            f"SELECT count() FROM {table} WHERE "
            + " OR ".join(f"position({value}, '{raw}') > 0" for raw in RAWS),
        )
        if hits:
            found.append((table, name, hits))

    assert found == []
    assert _count(store, "SELECT count() FROM dead_letters FINAL") == 1
