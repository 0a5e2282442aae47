"""How the pipeline talks to Kafka: one client factory, one commit policy, one reader base.

- ``clients``: every consumer, producer and admin client is made here from the
  settings (confluent-kafka; consumers read with read_committed).
- ``commits``: ``OffsetLedger``, the commit policy: an offset is committed
  only once what was made from it is durable.
- ``transactions``: ``Transactions``, a stage's records and input offsets
  committed to Kafka in one transaction.
- ``stage``: ``Stage``, a consumer-group member read in batches on its own
  thread (the worker's ingest, engine and sink stages).
- ``transactional``: ``TransactionalStage``, a stage whose output and input
  offsets commit in one transaction (ingest and engine).
- ``read``: reading a topic to its end as a downstream reader sees it.
"""

from __future__ import annotations

__all__: list[str] = []
