"""The sink's Kafka side: events, alerts and dead letters from Kafka into the store.

``SinkService`` runs inside the worker (``streams.worker.runtime``) when
``settings.sink_enabled``; the store itself (tables, batches, retention) is
``sinks``. ``docs/storage.md``, "The Kafka side", explains the design.
"""

from streams.sink.service import SinkService

__all__ = ["SinkService"]
