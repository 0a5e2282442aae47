"""Which topic and key a raw line goes to, read without parsing the whole line.

Called by the replay loop for every line, so it must stay cheap: a few
compiled regular expressions over the bytes find ``feed``, the key field and
``event_time``; nothing is validated (that is the pipeline's job, and a bad
line must reach it unchanged).

Routing: a line goes to its feed's topic (``Settings.feed_topics()``). A line
whose feed cannot be read (not JSON, no ``feed``, an unknown feed) goes to the
``checkpoint_scan`` topic, the busiest input, where the worker's quarantine
sends it on to the dead letters with its reason.

Keys (the pipeline does not trust them; they spread load and, for the
compacted reference topics, decide what compaction keeps):

    checkpoint_scan   person_id, else checkpoint_id
    venue_scan        venue_id, else person_id
    patrol_event      incident_id, else site_id, else unit_id
    risk_area         area_code   (compacted topic)
    venue             venue_id    (compacted topic)

A key field that is missing, null or empty falls to the next; when none is
left the key is ``line:`` plus a BLAKE2b digest of the line's bytes. So every
record has a key (a compacted topic refuses keyless records), the partition of
every line is the same on every run, and two different malformed reference
records never compact each other away. The first occurrence of a field name
wins; the feeds have no nested objects with these names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Final

__all__ = ["FALLBACK_FEED", "KEY_FIELDS", "Router", "event_time", "key_of", "string_field"]

FALLBACK_FEED: Final = "checkpoint_scan"
"""The feed whose topic receives lines whose own feed cannot be read."""

KEY_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "checkpoint_scan": ("person_id", "checkpoint_id"),
    "venue_scan": ("venue_id", "person_id"),
    "patrol_event": ("incident_id", "site_id", "unit_id"),
    "risk_area": ("area_code",),
    "venue": ("venue_id",),
}
"""Per feed, the fields tried in order for the record key."""

_NAMES: Final = ("feed", "event_time", *(n for names in KEY_FIELDS.values() for n in names))
_PLAIN: Final = {n: re.compile(rb'"' + n.encode() + rb'"\s*:\s*"([^"\\]*)"') for n in _NAMES}
_ESCAPED: Final = {
    n: re.compile(rb'"' + n.encode() + rb'"\s*:\s*"((?:[^"\\]|\\.)*)"') for n in _NAMES
}


def _unescape(text: bytes) -> bytes:
    """A JSON string's content as UTF-8; escapes resolved when there are any."""
    if b"\\" not in text:
        return text
    try:
        return str(json.loads(b'"' + text + b'"')).encode()
    except (ValueError, UnicodeError):
        return text


def string_field(line: bytes, name: str) -> bytes | None:
    """The raw content of the first ``"name": "..."`` string member in ``line``, else None.

    One regular-expression search without alternation (about a microsecond
    where a full parse takes several); only a value with an escape, a null or
    a missing field pays for the slower second search. Escapes are left as
    they are; a null or non-string value gives None.
    """
    match = _PLAIN[name].search(line) or _ESCAPED[name].search(line)
    return match.group(1) if match else None


def key_of(feed: str, line: bytes) -> bytes:
    """The record key of ``line`` of ``feed``: the first non-empty key field, else a digest."""
    for name in KEY_FIELDS.get(feed, ()):
        value = string_field(line, name)
        if value:
            return _unescape(value)
    return b"line:" + hashlib.blake2b(line, digest_size=8).hexdigest().encode()


def event_time(line: bytes) -> float | None:
    """``event_time`` as POSIX seconds; None if missing, unparsable or without offset."""
    text = string_field(line, "event_time")
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text.decode())
    except (ValueError, UnicodeError):
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp()


class Router:
    """Maps a raw line to (topic, key); built once per replay from the feed topics.

    ``route`` is the hot path: one search for ``feed``, one per key field tried,
    no unescaping unless the key needs it (then ``key_of`` does it slowly).
    """

    def __init__(self, feed_topics: Mapping[str, str]) -> None:
        self._topics = dict(feed_topics)
        self.fallback_topic = self._topics[FALLBACK_FEED]
        """Where lines whose feed cannot be read go."""
        self._by_feed = {
            feed.encode(): (feed, topic, tuple(_PLAIN[n].search for n in KEY_FIELDS[feed]))
            for feed, topic in self._topics.items()
        }
        self._find_feed = _PLAIN["feed"].search

    @property
    def topics(self) -> list[str]:
        """Every topic this router can choose, without duplicates, in feed order."""
        return list(dict.fromkeys(self._topics.values()))

    def feed(self, line: bytes) -> str | None:
        """The line's ``feed`` if it names a known feed, else None."""
        value = string_field(line, "feed")
        if value is None:
            return None
        name = _unescape(value).decode("utf-8", "replace")
        return name if name in self._topics else None

    def route(self, line: bytes) -> tuple[str, bytes]:
        """Topic and key for ``line``; unknown or unreadable feeds go to the fallback topic."""
        match = self._find_feed(line)
        spec = self._by_feed.get(match.group(1)) if match else None
        if spec is None:
            feed = self.feed(line)  # an escaped feed name, or none we know
            if feed is None:
                return self.fallback_topic, key_of("", line)
            return self._topics[feed], key_of(feed, line)
        feed, topic, searches = spec
        for search in searches:
            found = search(line)
            if found and found.group(1):
                return topic, found.group(1)
        return topic, key_of(feed, line)
