"""``controlfeed status``: one screen of the pipeline's health for an operator.

``report`` holds the pure parts (parse ``/metrics`` text into a ``Snapshot``,
two snapshots into a ``Report``), tested with canned text; ``sources`` reads the
worker's ``/metrics`` and asks Prometheus; ``command`` is the click command
``streams.cli`` registers and draws the screen.
"""

from __future__ import annotations

from streams.status.command import status
from streams.status.report import AlertCounts, FeedRow, Report, SinkHealth, Snapshot, build_report

__all__ = ["AlertCounts", "FeedRow", "Report", "SinkHealth", "Snapshot", "build_report", "status"]
