"""``SkipLog``: when to log the records the sink skips, so a flood of junk never floods the log.

``SinkService`` counts each record it cannot read (``UnreadableRecordError``)
here and logs a warning when told: the first of a topic at once, then at most
one line per topic every ``interval`` seconds, with the count so far. Pure:
given the time, never reads a clock.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SKIP_LOG_S", "SkipLog"]

SKIP_LOG_S: Final = 10.0
"""At most one warning per topic this often about records the sink cannot read."""


class SkipLog:
    """Unreadable records counted per topic; see the module docstring."""

    def __init__(self, interval: float = SKIP_LOG_S) -> None:
        self._interval = interval
        self._counts: dict[str, int] = {}
        self._logged: dict[str, float] = {}

    def skipped(self, topic: str, now: float) -> int | None:
        """Count one record of ``topic`` skipped at ``now``; the count so far when it is
        to be logged now, else None."""
        count = self._counts.get(topic, 0) + 1
        self._counts[topic] = count
        if count == 1 or now >= self._logged.get(topic, 0.0) + self._interval:
            self._logged[topic] = now
            return count
        return None

    def count(self, topic: str) -> int:
        """Records of ``topic`` skipped so far."""
        return self._counts.get(topic, 0)
