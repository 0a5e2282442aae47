"""What operators use beside the pipeline: the console, ``alerts``, ``status``, ``query``.

They read what the worker wrote (the alert and alert-state topics, the
worker's metrics, ClickHouse as the read-only user) and never run a stage.
"""

from __future__ import annotations

__all__: list[str] = []
