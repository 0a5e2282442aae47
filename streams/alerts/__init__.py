"""``controlfeed alerts``: read the alerts topic for operators in the command centre.

``view`` holds the pure parts (time parsing, filtering, formatting), tested
without a broker; ``reader`` reads the topic without committing offsets;
``command`` is the click command that ``streams.cli`` registers.
"""

from __future__ import annotations

from streams.alerts.command import alerts
from streams.alerts.view import AlertFilter, Summary, format_line, parse_rules, parse_time

__all__ = ["AlertFilter", "Summary", "alerts", "format_line", "parse_rules", "parse_time"]
