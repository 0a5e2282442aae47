"""streams.ops.console.lifecycle and book: what actions do, the topic's order, the change log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from schemas.alert_state import AlertState, has_personal_data
from streams.ops.console.book import Book, Query
from streams.ops.console.lifecycle import TRANSITIONS, ActionRefused, States, decide
from tests.integration.console_support import make_alert

AT = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
ALERT = "a" * 32


def _act(current: AlertState | None, action: str, **kw: object) -> AlertState:
    return decide(current, alert_id=ALERT, action=action, actor="op", at=AT,  # type: ignore[arg-type]
                  action_id=uuid.uuid4().hex, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_an_alert_goes_from_new_to_acknowledged_to_resolved_and_back() -> None:
    acked = _act(None, "ack")
    assigned = _act(acked, "assign", assignee="li.wei")
    resolved = _act(assigned, "resolve")
    reopened = _act(resolved, "reopen")

    assert [s.status for s in (acked, assigned, resolved, reopened)] == [
        "acknowledged", "assigned", "resolved", "new",
    ]  # fmt: skip
    assert [s.version for s in (acked, assigned, resolved, reopened)] == [1, 2, 3, 4]
    assert resolved.assignee == "li.wei"


@pytest.mark.parametrize("action", sorted(set(TRANSITIONS) - {"comment"}))
def test_every_action_is_refused_from_a_status_it_does_not_allow(action: str) -> None:
    closed = _act(_act(None, "ack"), "resolve")
    allowed, _ = TRANSITIONS[action]  # type: ignore[index]
    current = None if "new" not in allowed else closed
    extra = {"assignee": "a"} if action == "assign" else {}

    with pytest.raises(ActionRefused) as refused:
        _act(current, action, **extra)

    assert not refused.value.conflict


def test_a_stale_version_is_a_conflict_and_a_comment_needs_a_note() -> None:
    acked = _act(None, "ack")

    with pytest.raises(ActionRefused) as stale:
        _act(acked, "resolve", expected_version=0)
    with pytest.raises(ActionRefused):
        _act(acked, "comment", note="   ")

    assert stale.value.conflict
    assert _act(acked, "comment", note=" ok ").note == "ok"


def test_the_topic_order_decides_between_two_consoles_acting_at_once() -> None:
    states = States()
    first, second = _act(None, "ack"), _act(None, "dismiss")  # both made from version 0

    assert states.apply(first) and not states.apply(second)
    assert states.current[ALERT] is first and states.outcomes[second.action_id] is False
    assert not states.apply(first)  # a record read again changes nothing
    assert states.outcomes[first.action_id] is True and states.trails[ALERT] == [first]


def test_notes_with_an_id_or_a_phone_number_are_personal_data() -> None:
    assert has_personal_data("caller 13812345678") and has_personal_data("11010519491231002X")
    assert not has_personal_data("team 3 sent at 08:40, 2 people")


def test_the_change_log_replays_what_a_browser_missed_or_says_it_cannot() -> None:
    book = Book()
    alerts = [make_alert(n) for n in range(3)]
    for alert in alerts:
        assert book.add_alert(alert)

    assert not book.add_alert(alerts[0])  # never twice
    assert [c.alert_id for c in book.since(1) or []] == [a.alert_id for a in alerts[1:]]
    assert book.since(3) == [] and book.since(4) is None
    state = _act(None, "ack").model_copy(update={"alert_id": alerts[1].alert_id})
    assert book.add_state(state)
    assert [(c.kind, c.alert_id) for c in book.since(3) or []] == [("state", alerts[1].alert_id)]
    assert book.counts()["by_status"]["acknowledged"] == 1


def test_queries_filter_and_page_newest_first() -> None:
    book = Book(max_alerts=3)
    alerts = [make_alert(n, severity="critical" if n % 2 else "warning") for n in range(4)]
    for alert in alerts:
        book.add_alert(alert)

    total, page = book.query(Query(), limit=2)
    assert total == 3 and [a["alert_id"] for a in page] == [alerts[3].alert_id, alerts[2].alert_id]
    assert book.query(Query(severity=frozenset({"critical"})), 10)[0] == 2
    assert book.query(Query(q="FEVER #2"), 10)[0] == 1
    assert book.view(alerts[0].alert_id) is None  # the oldest left memory (max_alerts)
