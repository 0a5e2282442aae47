"""The sink's Kafka side: events, alerts and dead letters from Kafka into the store.

``SinkService`` runs inside the worker (``streams.worker.runtime``) when
``settings.sink_enabled``, a reader around ``streams.sink.flow.SinkFlow``, the
pure state machine that decides when to flush, what to commit and how long
to back off; the store itself (tables, batches, retention) is ``sinks``.
``docs/storage.md``, "The Kafka side", explains the design.
"""

from streams.sink.service import SinkService

__all__ = ["SinkService"]
