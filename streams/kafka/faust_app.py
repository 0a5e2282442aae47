"""The Faust application factory.

Called by the worker entry point and by tests that run a Faust worker as a
subprocess. Every app of the project is built here so that the settings that
keep data safe are never forgotten: tables are not served over HTTP (they
hold personal data), and agents run with concurrency 1 (faust-streaming can
commit past an in-flight message otherwise: a crash then loses it).
"""

from __future__ import annotations

import faust

from streams.kafka.clients import faust_credentials
from streams.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, app_id: str = "controlfeed", partitions: int = 1) -> faust.App:
    """A Faust app on the configured brokers with the project's safe defaults.

    ``partitions`` is the count Faust gives the topics it declares itself
    (changelogs, repartition topics); the pipeline's own topics declare theirs.
    """
    brokers = [
        f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")
    ]
    return faust.App(
        app_id,
        broker=brokers,
        broker_credentials=faust_credentials(settings),
        store="memory://",
        topic_partitions=partitions,
        topic_replication_factor=1,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=False,
        web_tables_enabled=False,
    )
