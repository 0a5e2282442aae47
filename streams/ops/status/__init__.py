"""``controlfeed status``: one screen of the pipeline's health for an operator.

``report`` holds the pure parts (parse ``/metrics`` text into a ``Snapshot``,
two snapshots into a ``Report``), tested with canned text; ``sources`` reads the
worker's ``/metrics`` and asks Prometheus; the click command that
draws the screen is ``streams.cli.status``.
"""

from __future__ import annotations

from streams.ops.status.report import (
    AlertCounts,
    FeedRow,
    Report,
    SinkHealth,
    Snapshot,
    build_report,
)

__all__ = ["AlertCounts", "FeedRow", "Report", "SinkHealth", "Snapshot", "build_report"]
