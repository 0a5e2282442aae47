"""The pipeline's health for the console: read from the worker's ``/metrics`` page.

Called by ``GET /api/health`` (``streams.ops.console.app``) on a thread. It reads
``CONTROLFEED_METRICS_HOST:CONTROLFEED_METRICS_PORT`` (the worker's page; with
``--processes`` the parent's merged page), keeps the previous reading to turn
counters into rates, and says per feed how many events per second arrive,
how far behind the wall clock its newest event time is, and whether it went
silent (nothing arrived for a minute), the consumer lag per topic,
the dead letters by reason and the sink's state. A worker that cannot be
reached is reported as such (``reachable: false``, with the reason), never
raised: an operator must see at once that the pipeline went silent.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final

from prometheus_client.parser import text_string_to_metric_families

from streams.settings import Settings

__all__ = ["FEEDS", "Health"]

FEEDS: Final = ("checkpoint_scan", "venue_scan", "patrol_event", "risk_area", "venue")
_SILENT_S: Final = 60.0
"""A feed that received no event for this long (wall clock, between readings) is flagged
``silent``: event times may be old (a replay), so arrival is what counts."""


@dataclass(slots=True)
class _Reading:
    at: float
    events: dict[str, float] = field(default_factory=dict)


class Health:
    """Reads the worker's metrics; see the module docstring."""

    def __init__(self, settings: Settings, timeout: float = 2.0) -> None:
        self.url = f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"
        self._timeout = timeout
        self._lock = threading.Lock()
        self._previous: _Reading | None = None
        self._moved: dict[str, float] = {}

    def read(self) -> dict[str, Any]:
        """The health as JSON-ready data (``reachable`` false when the page cannot be read)."""
        now = time.time()
        try:
            with urllib.request.urlopen(self.url, timeout=self._timeout) as response:  # noqa: S310 (our setting)
                text = response.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            return {"reachable": False, "url": self.url, "reason": str(reason), "at": now}
        samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[sample.name].append((sample.labels, sample.value))
        return self._summary(samples, now)

    def _summary(self, samples: dict[str, list[tuple[dict[str, str], float]]],
                 now: float) -> dict[str, Any]:  # fmt: skip
        events = _by(samples, "controlfeed_events_total", "feed")
        last = _by(samples, "controlfeed_last_event_time_seconds", "feed", max)
        with self._lock:
            before, self._previous = self._previous, _Reading(now, events)
        feeds = []
        for feed in FEEDS:
            rate = None
            if before is not None and now > before.at and feed in before.events:
                rate = max(0.0, (events.get(feed, 0.0) - before.events[feed]) / (now - before.at))
            with self._lock:
                if rate is None or rate > 0:
                    self._moved[feed] = now
                quiet = now - self._moved.get(feed, now)
            newest = last.get(feed)
            behind = None if not newest else max(0.0, now - newest)
            feeds.append({"feed": feed, "events": events.get(feed, 0.0),
                          "per_second": None if rate is None else round(rate, 2),
                          "last_event_time": newest or None,
                          "behind_s": None if behind is None else round(behind, 1),
                          "quiet_s": round(quiet, 1), "silent": quiet > _SILENT_S})  # fmt: skip
        return {
            "reachable": True,
            "url": self.url,
            "at": round(now, 3),
            "feeds": feeds,
            "lag": _by(samples, "controlfeed_consumer_lag_records", "topic"),
            "dead_letters": _by(samples, "controlfeed_dead_letters_total", "reason"),
            "alerts": sum(v for _, v in samples.get("controlfeed_alerts_total", [])),
            "sink": {
                "pending_rows": sum(v for _, v in samples.get("controlfeed_sink_pending_rows", [])),
                "paused": any(v for _, v in samples.get("controlfeed_sink_paused", [])),
                "errors": sum(v for _, v in samples.get("controlfeed_sink_errors_total", [])),
            },
        }


def _by(
    samples: dict[str, list[tuple[dict[str, str], float]]],
    name: str,
    label: str,
    combine: Any = None,
) -> dict[str, float]:
    """``name``'s samples summed (or ``combine``d) by ``label`` over every other label
    (``process`` of ``--processes``, ``partition``)."""
    out: dict[str, float] = {}
    for labels, value in samples.get(name, []):
        key = labels.get(label)
        if key is None:
            continue
        if key in out and combine is not None:
            out[key] = combine(out[key], value)
        else:
            out[key] = out.get(key, 0.0) + value
    return out
