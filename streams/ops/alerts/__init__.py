"""``controlfeed alerts``: read the alerts topic for operators in the command centre.

``view`` holds the pure parts (time parsing, filtering, formatting), tested
without a broker; ``reader`` reads the topic without committing offsets;
the click command is ``streams.cli.alerts``.
"""

from __future__ import annotations

from streams.ops.alerts.view import AlertFilter, Summary, format_line, parse_rules, parse_time

__all__ = ["AlertFilter", "Summary", "format_line", "parse_rules", "parse_time"]
