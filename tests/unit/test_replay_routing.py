"""Routing and keying of raw lines: topic per feed, key per feed, fallbacks."""

from __future__ import annotations

import pytest

from streams.devtools.replay.routing import Router, event_time, key_of, string_field

TOPICS = {
    "checkpoint_scan": "t.cp",
    "venue_scan": "t.vs",
    "patrol_event": "t.pe",
    "risk_area": "t.ra",
    "venue": "t.ve",
}


@pytest.fixture
def router() -> Router:
    return Router(TOPICS)


@pytest.mark.parametrize(
    ("line", "topic", "key"),
    [
        (
            b'{"feed":"checkpoint_scan","person_id":"511802198503120017"}',
            "t.cp",
            b"511802198503120017",
        ),
        (b'{"feed": "venue_scan", "person_id": "p1", "venue_id": "v-7"}', "t.vs", b"v-7"),
        (b'{"feed":"patrol_event","unit_id":"u1","incident_id":"inc-9"}', "t.pe", b"inc-9"),
        (b'{"feed":"risk_area","area_code":"510107","level":"high"}', "t.ra", b"510107"),
        (b'{"feed":"venue","venue_id":"v-7","status":"open"}', "t.ve", b"v-7"),
    ],
)
def test_each_feed_goes_to_its_topic_with_its_key(
    router: Router, line: bytes, topic: str, key: bytes
) -> None:
    assert router.route(line) == (topic, key)


def test_a_null_person_falls_back_to_the_checkpoint(router: Router) -> None:
    line = b'{"feed":"checkpoint_scan","person_id":null,"checkpoint_id":"caoba-toll"}'

    assert router.route(line) == ("t.cp", b"caoba-toll")


def test_a_patrol_checkin_without_incident_is_keyed_by_site_then_unit(router: Router) -> None:
    assert router.route(b'{"feed":"patrol_event","unit_id":"u1","site_id":"bus-station"}') == (
        "t.pe",
        b"bus-station",
    )
    assert router.route(b'{"feed":"patrol_event","unit_id":"u1"}') == ("t.pe", b"u1")


def test_a_reference_record_without_its_key_gets_a_content_digest(router: Router) -> None:
    topic, key = router.route(b'{"feed":"venue","name":"no id"}')

    assert topic == "t.ve"
    assert key.startswith(b"line:")
    assert key == router.route(b'{"feed":"venue","name":"no id"}')[1]
    assert key != router.route(b'{"feed":"venue","name":"other"}')[1]


@pytest.mark.parametrize(
    "line",
    [b"not json at all", b'{"event_id":"x"}', b'{"feed":"alert","id":1}', b'{"feed":42}', b""],
)
def test_lines_whose_feed_cannot_be_read_go_to_the_checkpoint_topic(
    router: Router, line: bytes
) -> None:
    topic, key = router.route(line)

    assert topic == "t.cp"
    assert key.startswith(b"line:")


def test_a_truncated_line_with_a_readable_feed_still_goes_to_that_feed(router: Router) -> None:
    assert router.route(b'{"feed":"venue_scan","venue_id":"v-1","mask":tr') == ("t.vs", b"v-1")


def test_escaped_key_values_are_unescaped(router: Router) -> None:
    assert router.route(b'{"feed":"venue","venue_id":"a\\"b\\u00e9"}') == ("t.ve", 'a"bé'.encode())


def test_an_escaped_feed_name_is_still_understood(router: Router) -> None:
    assert router.route(b'{"feed":"v\\u0065nue","venue_id":"v-1"}') == ("t.ve", b"v-1")


def test_key_of_an_unknown_feed_is_a_digest() -> None:
    assert key_of("", b"abc").startswith(b"line:")


def test_string_field_skips_nulls_and_non_strings() -> None:
    assert string_field(b'{"person_id": null}', "person_id") is None
    assert string_field(b'{"person_id": 5}', "person_id") is None
    assert string_field(b'{"person_id" :  "x"}', "person_id") == b"x"


def test_event_time_reads_offset_times_only() -> None:
    assert event_time(b'{"event_time":"1970-01-01T08:00:01+08:00"}') == 1.0
    assert event_time(b'{"event_time":"1970-01-01T00:00:01.5Z"}') == 1.5
    assert event_time(b'{"event_time":"1970-01-01T00:00:01"}') is None  # no offset
    assert event_time(b'{"event_time":"yesterday"}') is None
    assert event_time(b'{"feed":"venue"}') is None


def test_router_lists_each_topic_once_in_feed_order() -> None:
    shared = dict(TOPICS, venue="t.ra")

    assert Router(shared).topics == ["t.cp", "t.vs", "t.pe", "t.ra"]
