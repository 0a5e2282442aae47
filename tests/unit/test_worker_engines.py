"""``streams.worker.engines``: the engines of the partitions held, and the late events they
count for the stage to export (``Engines.take_late``)."""

from __future__ import annotations

import json
from datetime import timedelta

from rules import default_config
from schemas.clean import EventRecord, Watermark, dump_envelope, load_envelope
from streams.worker.engines import Engines
from streams.worker.idleness import SourceTracker
from streams.worker.ingest import EngineOut, Ingest, RawRecord
from tests.oracle.builders import checkpoint_scan

PARTITIONS = 3
CONFIG = default_config()


def _copies(minute: int, event_id: str) -> list[EngineOut]:
    ingest = Ingest({"checkpoint_scan": "cp"}, b"k" * 32, CONFIG, PARTITIONS, SourceTracker())
    raw = json.dumps(checkpoint_scan(event_id, minute * 60)).encode()
    out = ingest.handle(RawRecord("cp", 0, 0, None, raw, []), now=0.0)
    assert isinstance(out, list)
    return [o for o in out if o.topic is None]


def test_a_late_event_is_counted_once_over_its_copies_and_taken_once() -> None:
    engines = Engines(CONFIG, ["cp/0"])
    late = _copies(0, "c-late")
    assert len(late) == 2  # the checkpoint's copy and the person's
    ahead = load_envelope(_copies(60, "c-ahead")[0].value)
    assert isinstance(ahead, EventRecord)
    marker = dump_envelope(Watermark("cp/0", ahead.event.event_time + timedelta(hours=1)))
    for p in range(PARTITIONS):
        engines.handle(p, marker)

    for copy in late:
        engines.handle(copy.partition, copy.value)

    assert engines.take_late() == {"checkpoint_scan": 1}
    assert engines.take_late() == {}
    for copy in _copies(200, "c-on-time"):  # after the watermark: not late
        engines.handle(copy.partition, copy.value)
    assert engines.take_late() == {}
