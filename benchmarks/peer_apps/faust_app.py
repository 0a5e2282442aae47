"""Peer ``faust``: a faust-streaming app with agents and a windowed table doing the subset.

Run by ``benchmarks/peers.py`` as ``python -m benchmarks.peer_apps.faust_app``
(its options are ``common.options``); the subset is ``common``'s docstring.
The app is built by ``streams.kafka.faust_app.create_app``, the project's factory (memory
store with a changelog topic, Faust's default; acks=all; tables not served
over HTTP; concurrency 1), and run by a ``faust.Worker`` without its start-up
spinner (the spinner leaves the root logger at DEBUG, which costs aiokafka
most of its speed).

- Agent ``scans`` reads every feed topic (raw bytes), ``json.loads`` each
  value, sends the per-event alerts to the alerts topic, and forwards each
  venue scan the window counts, as a ``VenueScan`` keyed by ``venue_id``, to
  a repartition topic of this run. docs/feeds.md says producers do not key
  their records reliably (replay happens to key venue scans by
  ``venue_id``), so the venue count must not trust the input's key: this is
  Faust's ``group_by``, written out.
- Agent ``crowds`` reads the repartition topic into a table tumbling over
  600 s, relative to the ``event_time`` field, and sends one alert when a
  (venue, window) count reaches 101 (``WindowSet.value()``, the table's own
  relativity: ``.current()`` would use the Kafka timestamp). Windows expire
  after ten years, because Faust's table clean-up (every
  ``table_cleanup_interval``, 30 s) compares window times with the wall clock,
  not with event time: with a two-day expiry it dropped the counts of the
  scenario's 2022 windows in mid-run (69-71 of 89 crowd alerts in a run of
  200k events that lasted 100 s; exact in runs shorter than 30 s).

Done when every input record is read and every forwarded venue scan counted;
then the producer is flushed (alerts, repartition and changelog records) and
the ``done`` line printed. Closing standard input stops the worker (SIGTERM).
A failure leaves its traceback in the log and a worker that never reports
``done``: ``peers.py`` times it out.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from datetime import timedelta
from typing import Any, cast

import faust
from faust.types import FieldDescriptorT

from benchmarks.peer_apps.common import (
    CROWD_AT,
    WINDOW_MS,
    Reporter,
    options,
    scan_alerts,
    window_fields,
)
from streams.kafka.faust_app import create_app
from streams.settings import Settings

args = options(__doc__ or "").parse_args()
app = create_app(
    Settings(kafka_bootstrap_servers=args.bootstrap),
    app_id=args.group,
    partitions=args.partitions,
)


class VenueScan(faust.Record, serializer="json"):
    """What the venue window needs of a venue scan."""

    venue_id: str
    event_time: float
    """Epoch seconds."""


feeds = app.topic(*args.topics.split(","), value_type=bytes, value_serializer="raw")
alerts = app.topic(args.alerts_topic, value_type=bytes, value_serializer="raw")
by_venue = app.topic(  # internal: Faust declares it, as it does its group_by topics
    f"{args.group}-by-venue",
    key_type=str,
    value_type=VenueScan,
    partitions=args.partitions,
    internal=True,
)
counts = (
    app.Table("venue-counts", default=int, partitions=args.partitions)
    .tumbling(WINDOW_MS / 1000, expires=timedelta(days=3650))  # see the docstring
    .relative_to_field(cast("FieldDescriptorT[Any]", VenueScan.event_time))
)

report = Reporter()
seen = malformed = forwarded = counted = 0
sent: dict[str, int] = {}
finished = False


async def _done_yet() -> None:
    """Report ``done`` once every input record is read and every forwarded one counted."""
    global finished
    if finished or seen < args.records or counted < forwarded:
        return
    finished = True
    await app.producer.flush()
    report.done(seen, malformed=malformed, forwarded=forwarded, sent=sent,
                version=f"faust-streaming {faust.__version__}")  # fmt: skip


@app.agent(feeds, concurrency=1)
async def scans(stream: faust.StreamT[bytes]) -> None:
    """Decode, per-event alerts, venue scans on to the repartition topic."""
    global seen, malformed, forwarded
    async for value in stream:
        report.first()
        seen += 1
        try:
            record = json.loads(value)
        except ValueError:
            record = None
            malformed += 1
        if isinstance(record, dict):
            for alert in scan_alerts(record):
                sent[alert["rule"]] = sent.get(alert["rule"], 0) + 1
                await alerts.send(value=json.dumps(alert).encode())
            fields = window_fields(record)
            if fields is not None:
                forwarded += 1
                venue, at_ms = fields
                await by_venue.send(key=venue, value=VenueScan(venue, at_ms / 1000))
        report.progress(seen)
        await _done_yet()


@app.agent(by_venue, concurrency=1)
async def crowds(stream: faust.StreamT[VenueScan]) -> None:
    """Count venue scans per venue and window; one alert when a count reaches 101."""
    global counted
    async for scan in stream:
        counts[scan.venue_id] += 1
        if counts[scan.venue_id].value() == CROWD_AT:  # .current() is Kafka time
            sent["venue_crowd"] = sent.get("venue_crowd", 0) + 1
            alert = {"rule": "venue_crowd", "venue_id": scan.venue_id, "count": CROWD_AT}
            await alerts.send(key=scan.venue_id.encode(), value=json.dumps(alert).encode())
        counted += 1
        await _done_yet()


def _stop_when_stdin_closes() -> None:
    sys.stdin.read()
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> None:
    threading.Thread(target=_stop_when_stdin_closes, daemon=True).start()
    worker = faust.Worker(app, loglevel="warning", redirect_stdouts=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
