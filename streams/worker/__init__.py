"""``controlfeed worker``: the Faust worker from the feed topics to the alerts topic.

The stages live in small modules: ``ingest`` (decode, dead letters,
pseudonymise, route), ``idleness`` (per-source watermark and idle markers),
``engine_stage`` (one ``rules.Engine`` per engine-topic partition), ``app``
(the Faust wiring) and ``command`` (the click command). ``docs/worker.md``
explains the design.
"""

from __future__ import annotations

__all__: list[str] = []
