"""Peer ``quix``: a Quix Streams 3.28.1 ``Application`` doing the subset.

Run by ``benchmarks/peers.py`` with the interpreter of ``.stack/peers-venv``
(``python -m benchmarks.peer_apps.quix_app``, options of ``common.options``):
Quix Streams pins confluent-kafka<2.13, pydantic<2.14 and
pydantic-settings<2.16, which the project's own pins exclude, so it cannot
run in the project's virtualenv and this module imports nothing of the
project. The subset is ``common``'s docstring.

One ``StreamingDataFrame`` per feed topic, each on Quix's JSON deserializer
(orjson):

- every topic: keep JSON objects of the two scan feeds, project them to the
  fields the subset reads, per-event alerts (``apply(expand=True)``) to the
  alerts topic;
- the venue-scans topic also: a branch keeps the scans the window counts,
  ``group_by("venue_id")`` (docs/feeds.md: producers do not key reliably, so
  the key of the input is not trusted; replay does key venue scans by
  ``venue_id``, and the repartition costs one more produce and consume per
  venue scan), a tumbling 10-minute window of event time
  ``.count().current()``, and the ``== 101`` updates to the alerts topic. Event
  time comes from the ``event_time`` field through the topic's
  ``timestamp_extractor`` (a record without a valid one keeps its Kafka
  timestamp; the branch drops it anyway). The grace period is 24 h, longer
  than the scenario, so no event is late and the alert count does not depend
  on the order the partitions are read in.

Settings, from Quix's documentation: ``processing_guarantee="at-least-once"``
(the default; the docs put exactly-once up to 10 % slower),
``commit_interval`` 5 s (the default: the docs say longer intervals only save
checkpoint IO, at the price of memory and of duplicates after a failure, and
a run here lasts seconds), the value projected before the branch (the docs'
advice: a branch clones the value, smaller values clone faster), RocksDB state
with its changelog topic (the defaults), ``loglevel="WARNING"``.

A record that is not JSON fails Quix's deserializer; ``on_consumer_error``
counts it and skips it. The app stops itself (``Application.stop``) from
``on_message_processed`` once every input record is consumed and every
re-keyed venue scan is counted; ``Application.run`` then commits its last
checkpoint (flushes the producer, commits offsets) and returns, and the
``done`` line is printed. Any other error stops the app with Quix's
traceback in the log.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import confluent_kafka  # type: ignore[import-untyped,unused-ignore]  # untyped before 2.13
import quixstreams
from quixstreams import Application
from quixstreams.models import TimestampType

from benchmarks.peer_apps.common import (
    CROWD_AT,
    WINDOW_MS,
    Reporter,
    event_time_ms,
    options,
    scan_alerts,
    window_fields,
)

GRACE_MS = 24 * 3600 * 1000
FIELDS = ("feed", "event_id", "temperature_c", "health_code", "venue_id", "event_time")
"""What the subset reads of a record; the rest is dropped before the branch."""


class Counts:
    """What the app has done; decides when it is done."""

    def __init__(self, records: int, report: Reporter) -> None:
        self.records = records
        self.report = report
        self.seen = 0
        """Input records consumed (decoded or not)."""
        self.malformed = 0
        self.forwarded = 0
        """Venue scans sent through ``group_by``."""
        self.counted = 0
        """Re-keyed venue scans that reached the window."""
        self.app: Application | None = None
        self.stopped_at = 0.0
        """When the app was told to stop (``run`` then commits its last checkpoint)."""

    def input(self, _value: object) -> None:
        self.report.first()
        self.seen += 1
        self.report.progress(self.seen)

    def bad_record(self, exc: BaseException, message: Any, log: logging.Logger) -> bool:
        """``on_consumer_error``: a value that is not JSON is counted and skipped."""
        if message is None:
            return False  # a Kafka error, not a record: let Quix stop
        self.report.first()
        self.seen += 1
        self.malformed += 1
        self.check()
        return True

    def processed(self, _topic: str, _partition: int, _offset: int) -> None:
        """``on_message_processed``: stop once everything is consumed and counted."""
        self.check()

    def check(self) -> None:
        if self.seen >= self.records and self.counted >= self.forwarded and self.app:
            self.stopped_at = self.stopped_at or time.time()
            self.app.stop()


def _is_scan(value: object) -> bool:
    return isinstance(value, dict) and value.get("feed") in ("checkpoint_scan", "venue_scan")


def _project(value: dict[str, Any]) -> dict[str, Any]:
    return {name: value[name] for name in FIELDS if name in value}


def _event_time(value: Any, _headers: Any, timestamp: int, _kind: TimestampType) -> int:
    """The ``event_time`` field in ms; the Kafka timestamp when there is no valid one."""
    at = event_time_ms(value.get("event_time")) if isinstance(value, dict) else None
    return timestamp if at is None else at


def build(args: Any, counts: Counts) -> Application:
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee="at-least-once",
        commit_interval=5.0,
        state_dir=args.state_dir,
        loglevel="WARNING",
        on_consumer_error=counts.bad_record,
        on_message_processed=counts.processed,
    )
    alerts = app.topic(args.alerts_topic, value_serializer="json")

    def forwarded(_value: object) -> None:
        counts.forwarded += 1

    def counted(_value: object) -> None:
        counts.counted += 1

    for name in args.topics.split(","):
        venues = name == args.venue_topic
        topic = app.topic(
            name,
            value_deserializer="json",
            timestamp_extractor=_event_time if venues else None,
        )
        sdf = app.dataframe(topic)
        sdf = sdf.update(counts.input).filter(_is_scan).apply(_project)
        sdf.apply(scan_alerts, expand=True).to_topic(alerts)
        if venues:
            crowd = sdf.filter(lambda v: window_fields(v) is not None).update(forwarded)
            crowd = crowd.group_by("venue_id").update(counted)
            crowd = crowd.tumbling_window(WINDOW_MS, grace_ms=GRACE_MS).count().current()
            crowd = crowd.filter(lambda w: w["value"] == CROWD_AT)
            crowd = crowd.apply(
                lambda w: {"rule": "venue_crowd", "window_start": w["start"], "count": w["value"]}
            )
            crowd.to_topic(alerts)
    counts.app = app
    return app


def main() -> None:
    args = options(__doc__ or "").parse_args()
    report = Reporter()
    counts = Counts(args.records, report)
    app = build(args, counts)
    app.run()
    if counts.seen < args.records:
        sys.exit(f"quix: stopped after {counts.seen} of {args.records} records")
    versions = (
        f"quixstreams {quixstreams.__version__}, confluent-kafka {confluent_kafka.version()}, "
        f"librdkafka {confluent_kafka.libversion()[0]}"
    )
    report.done(counts.seen, malformed=counts.malformed, forwarded=counts.forwarded,
                version=versions, stopping_s=time.time() - counts.stopped_at)  # fmt: skip
    report.wait_for_parent()


if __name__ == "__main__":
    main()
