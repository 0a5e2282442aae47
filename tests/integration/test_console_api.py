"""``controlfeed console``'s JSON API and stream against the real broker, over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from schemas.alert_state import AlertState
from schemas.catalogue import RULE_NAMES
from sinks import Batcher, migrate, open_store
from streams.ops.console.actions import Actions
from streams.settings import Settings
from tests.integration.console_support import (
    ID_SHAPED,
    PASSWORD,
    PHONE_SHAPED,
    Console,
    add_users,
    make_alert,
    running,
    send_alerts,
    wait_for,
)
from tests.unit import sink_samples as samples


@pytest.fixture
def console(declared: Settings, tmp_path: Path) -> Iterator[Console]:
    with running(declared, tmp_path) as console:
        yield console


def _total(client: httpx.Client, query: str = "") -> int:
    return int(client.get(f"/api/alerts?{query}").json()["total"])


def test_only_healthz_answers_without_a_login(console: Console) -> None:
    anonymous = console.client()

    assert anonymous.get("/healthz").json()["ok"] is True
    for path in ("/api/alerts", "/api/stream", "/api/health", "/api/me", "/api/rules"):
        assert anonymous.get(path).status_code == 401, path
    refused = anonymous.post("/api/alerts/" + "0" * 32 + "/actions", json={"action": "ack"})
    assert refused.status_code == 401
    wrong = anonymous.post("/api/login", json={"name": "op", "password": "not it at all"})
    assert wrong.status_code == 401 and PASSWORD not in wrong.text
    plain = {"content-type": "text/plain"}
    form = anonymous.post("/api/login", content=b'{"name":"op"}', headers=plain)
    assert form.status_code == 415  # a cross-site form cannot log anyone in


def test_every_response_carries_the_security_headers(console: Console) -> None:
    for path in ("/", "/healthz", "/api/alerts", "/static/console.js"):
        headers = console.client().get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"], path
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_alerts_are_listed_once_and_filtered(console: Console, declared: Settings) -> None:
    alerts = [make_alert(1), make_alert(2, "no-code", "info"), make_alert(3, severity="critical")]
    send_alerts(declared, alerts)
    send_alerts(declared, alerts[:1])  # an alert record read twice is shown once
    client = console.client("view")

    wait_for(lambda: _total(client) == 3)

    assert _total(client, "severity=critical") == 1
    assert _total(client, "rule=fever") == 2
    assert _total(client, "q=%23") == 3 and _total(client, "q=no-code") == 1
    assert _total(client, "status=new") == 3 and _total(client, "status=resolved") == 0
    page = client.get("/api/alerts?limit=2").json()
    assert [a["alert_id"] for a in page["alerts"]] == [alerts[2].alert_id, alerts[1].alert_id]
    assert client.get("/api/alerts?since=yesterday").status_code == 400
    rules = client.get("/api/rules").json()["rules"]  # the filter's rules: the catalogue's
    assert [(r["id"], r["zh"], r["en"]) for r in rules] == [
        (rule, *names) for rule, names in RULE_NAMES.items()
    ]


def test_actions_change_the_shared_state_with_an_audit_trail(
    console: Console, declared: Settings, tmp_path: Path
) -> None:
    alert = make_alert(1)
    send_alerts(declared, [alert])
    op, viewer = console.client("op"), console.client("view")
    wait_for(lambda: _total(op) == 1)
    path = f"/api/alerts/{alert.alert_id}/actions"

    acked = op.post(path, json={"action": "ack", "version": 0})
    assert acked.status_code == 200, acked.text
    assert acked.json()["alert"]["status"] == "acknowledged"
    assert op.post(path, json={"action": "ack", "version": 0}).status_code == 409  # stale click
    assert op.post(path, json={"action": "ack"}).status_code == 400  # not from acknowledged
    assert viewer.post(path, json={"action": "resolve"}).status_code == 403
    no_token = console.client("op")
    del no_token.headers["x-csrf-token"]
    assert no_token.post(path, json={"action": "resolve"}).status_code == 403
    phone = op.post(path, json={"action": "comment", "note": "call 13812345678"})
    assert phone.status_code == 400  # notes never carry a phone or ID number
    assert op.post(path, json={"action": "comment", "note": "sent a team"}).status_code == 200
    assert op.post(path, json={"action": "resolve"}).status_code == 200

    # A second console process reads the same state from the topic; so does a restart.
    other = Console(declared, tmp_path)
    other.start()
    try:
        detail = other.client("view").get(f"/api/alerts/{alert.alert_id}").json()
    finally:
        other.stop()
    assert detail["alert"]["status"] == "resolved" and detail["alert"]["version"] == 3
    trail = [(r["action"], r["actor"], r["status"], r["note"]) for r in detail["trail"]]
    assert trail == [
        ("ack", "op", "acknowledged", None),
        ("comment", "op", "acknowledged", "sent a team"),
        ("resolve", "op", "resolved", None),
    ]
    assert detail["rule_text"]["en"].startswith("A temperature of 37.3")


def _events(response: httpx.Response, want: int) -> list[tuple[str, str, dict[str, object]]]:
    """The first ``want`` alert or state events of a stream: (id, event, data)."""
    out: list[tuple[str, str, dict[str, object]]] = []
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
            continue
        if fields.get("event") in ("alert", "state"):
            out.append((fields["id"], fields["event"], json.loads(fields["data"])))
            if len(out) == want:
                return out
        fields = {}
    return out


def test_the_stream_resumes_with_nothing_missed_or_repeated(
    console: Console, declared: Settings
) -> None:
    client = console.client("view")
    start = client.get("/api/alerts").json()["stream_id"]
    first = [make_alert(n) for n in range(3)]
    send_alerts(declared, first)

    with client.stream("GET", f"/api/stream?from={start}", timeout=15) as stream:
        got = _events(stream, 3)
    last_id = got[-1][0]
    later = [make_alert(n) for n in range(3, 7)]
    send_alerts(declared, later)  # while disconnected
    wait_for(lambda: _total(client) == 7)
    with client.stream("GET", "/api/stream", headers={"last-event-id": last_id}, timeout=15) as s:
        resumed = _events(s, 4)

    ids = [str(data["alert_id"]) for _, _, data in got + resumed]
    assert ids == [a.alert_id for a in first + later]
    with client.stream("GET", "/api/stream", headers={"last-event-id": "other.5"}) as s:
        assert any(line == "event: reset" for line in s.iter_lines() if line)


def test_the_detail_shows_the_evidence_events_stored_in_clickhouse_masked(
    declared: Settings, tmp_path: Path, ch_database: str, settings: Settings
) -> None:
    url = f"clickhouse://127.0.0.1:{settings.clickhouse_tcp_port}/{ch_database}"
    store = open_store(url, tmp_path / "chdb")
    migrate(store)
    at = datetime(2022, 10, 14, 9, 30, tzinfo=samples.CST)
    batcher = Batcher(store)
    batcher.add_event(samples.checkpoint_scan("ev-000001", at))
    batcher.add_event(samples.checkpoint_scan("ev-other", at))
    batcher.flush()
    store.close()
    add_users(tmp_path / "users.json")
    alert, bare = make_alert(1), make_alert(2)  # evidence ev-000001, and ev-000002 not stored
    send_alerts(declared, [alert, bare])
    console = Console(declared, tmp_path, env={"CONTROLFEED_CLICKHOUSE_URL": url})
    console.start()
    try:
        client = console.client("view")
        wait_for(lambda: _total(client) == 2)
        found = client.get(f"/api/alerts/{alert.alert_id}").json()
        missing = client.get(f"/api/alerts/{bare.alert_id}").json()
    finally:
        console.stop()

    assert [e["event_id"] for e in found["evidence"]] == ["ev-000001"]
    event = found["evidence"][0]
    assert event["table"] == "checkpoint_scans" and event["person_masked"].count("*") == 15
    assert missing["evidence"] == [] and "1 not stored yet" in missing["evidence_note"]
    assert url not in json.dumps(found)
    for body in console.responses:
        assert not ID_SHAPED.search(body) and not PHONE_SHAPED.search(body), body[:300]


def test_alerts_older_than_the_console_come_from_clickhouse_with_their_whole_trail(
    declared: Settings, tmp_path: Path, ch_database: str, settings: Settings
) -> None:
    url = f"clickhouse://127.0.0.1:{settings.clickhouse_tcp_port}/{ch_database}"
    live, resolved, untouched = make_alert(30), make_alert(2), make_alert(1, severity="critical")
    at = datetime(2022, 10, 14, 9, 30, tzinfo=samples.CST)
    ack = AlertState(alert_id=resolved.alert_id, version=1, status="acknowledged", action="ack",
                     action_id="a" * 32, actor="op", at=at)  # fmt: skip
    later = at + timedelta(minutes=5)
    resolve = ack.model_copy(update={"version": 2, "status": "resolved", "action": "resolve",
                                     "action_id": "b" * 32, "at": later})  # fmt: skip
    store = open_store(url, tmp_path / "chdb")
    migrate(store)
    batcher = Batcher(store)
    for alert in (live, resolved, untouched):
        batcher.add_alert(alert)
    batcher.add_alert_action(ack, 0, 0)  # only ClickHouse still holds version 1
    batcher.flush()
    store.close()
    send_alerts(declared, [live])  # the console's memory holds only the newest alert
    actions = Actions(declared)
    assert actions.write(resolve) is None  # the compacted state topic keeps the newest record
    actions.close()
    add_users(tmp_path / "users.json")
    console = Console(declared, tmp_path, env={"CONTROLFEED_CLICKHOUSE_URL": url})
    console.start()
    try:
        op = console.client("op")
        wait_for(lambda: _total(op) == 1)
        everything = op.get("/api/history").json()
        new = op.get("/api/history?status=new").json()
        page = op.get("/api/history?limit=1&offset=1").json()
        until = {"until": make_alert(2).event_time.isoformat()}
        early = op.get("/api/history", params=until).json()
        detail = op.get(f"/api/alerts/{resolved.alert_id}").json()
        acked = op.post(f"/api/alerts/{untouched.alert_id}/actions", json={"action": "ack"})
        bad = op.get("/api/history?since=last+week")
    finally:
        console.stop()

    ids = [a["alert_id"] for a in everything["alerts"]]
    assert everything["total"] == 3 and ids == [
        live.alert_id,
        resolved.alert_id,
        untouched.alert_id,
    ]
    status = {a["alert_id"]: (a["status"], a["version"]) for a in everything["alerts"]}
    assert status[resolved.alert_id] == ("resolved", 2)  # the topic's state beats the stored v1
    assert status[untouched.alert_id] == ("new", 0) and everything["alerts"][1]["stored"] is True
    assert {a["alert_id"] for a in new["alerts"]} == {live.alert_id, untouched.alert_id}
    assert [a["alert_id"] for a in page["alerts"]] == [resolved.alert_id] and page["total"] == 3
    assert [a["alert_id"] for a in early["alerts"]] == [untouched.alert_id]
    assert detail["alert"]["message"] == "fever #2" and detail["alert"]["stored"] is True
    assert [(r["version"], r["action"]) for r in detail["trail"]] == [(1, "ack"), (2, "resolve")]
    assert acked.status_code == 200, acked.text  # yesterday's alert can still be taken
    assert acked.json()["alert"]["status"] == "acknowledged"
    assert bad.status_code == 400 and "ISO 8601" in bad.json()["error"]
    for body in console.responses:
        assert not ID_SHAPED.search(body) and not PHONE_SHAPED.search(body), body[:300]
    assert url not in "".join(b.decode() for b in console.responses)


def test_without_a_clickhouse_server_the_detail_says_where_evidence_lives(
    console: Console, declared: Settings
) -> None:
    alert = make_alert(1)
    send_alerts(declared, [alert])
    client = console.client("view")
    wait_for(lambda: _total(client) == 1)

    detail = client.get(f"/api/alerts/{alert.alert_id}").json()
    history = client.get("/api/history")

    assert detail["evidence"] is None and "CONTROLFEED_CLICKHOUSE_URL" in detail["evidence_note"]
    assert history.status_code == 503 and "CONTROLFEED_CLICKHOUSE_URL" in history.json()["error"]
