"""Tools around the pipeline, for developers and load testers: not on the data path.

``stack`` runs the local services, ``scenario`` generates labelled feeds,
``replay`` sends files into Kafka at event-time pace, ``demo`` and ``smoke``
run the whole thing, ``validate`` checks files against the feeds' contract.
The worker never imports them.
"""

from __future__ import annotations

__all__: list[str] = []
