"""``controlfeed worker``: the pipeline from the feed topics to the alerts topic.

The stages live in small modules: ``ingest`` (decode, dead letters,
pseudonymise, route) and ``idleness`` (per-source watermark and idle
markers), run by ``ingest_stage``; ``engines`` (one ``rules.Engine`` per
engine-topic partition) and ``checkpoints`` (their state on the state
topic), run by ``engine_stage``; ``counts`` (what the stages counted) and
``exporting`` (the one place those counts become metrics, once per batch);
``runtime`` (the stages' threads), ``identity`` (the worker's stable name),
and ``topics``; ``startup`` the key, rules and label checks before the stages
start. The click command is ``streams.cli.worker``. ``docs/worker.md`` explains the design.
"""

from __future__ import annotations

__all__: list[str] = []
