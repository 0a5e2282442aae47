"""Exponential backoff of the sink's retries: 0.5 s, doubling, at most 30 s.

Used by the sink between attempts to store a flush (``streams.sink.flow.SinkFlow``)
and to open and migrate the store (``streams.sink.connections``) while it is
unavailable. Pure: it only counts.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FIRST_DELAY_S", "MAX_DELAY_S", "Backoff"]

FIRST_DELAY_S: Final = 0.5
"""The wait after the first failure."""
MAX_DELAY_S: Final = 30.0
"""The longest wait between two attempts."""


class Backoff:
    """Delays that double after each failure, from ``first`` up to ``cap`` seconds."""

    def __init__(self, first: float = FIRST_DELAY_S, cap: float = MAX_DELAY_S) -> None:
        if not 0 < first <= cap:
            raise ValueError("backoff needs 0 < first <= cap")
        self._first = first
        self._cap = cap
        self._next = first
        self.failures = 0
        """Failures since the last success."""

    def next(self) -> float:
        """Count one failure; the seconds to wait before the next attempt."""
        delay = self._next
        self._next = min(self._next * 2, self._cap)
        self.failures += 1
        return delay

    def reset(self) -> None:
        """Count a success: the next failure waits ``first`` seconds again."""
        self._next = self._first
        self.failures = 0
