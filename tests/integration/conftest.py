"""Fixtures for tests against the real Kafka, ClickHouse, Alertmanager and Prometheus.

The ``stack`` fixture (session) brings up whatever of the local stack is not
running yet and, at the end, stops only what it started: a stack the user
left running (``make demo``) is reused and left running. A service that cannot
start fails the tests that need it; nothing here skips.

Each test gets names of its own (topics, databases) from factories that
remove them afterwards, so tests never share state and can run beside the
demo's data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

import pytest
from clickhouse_driver import Client
from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

from streams.devtools.stack import ServiceState, Stack
from streams.kafka.clients import admin_client
from streams.kafka.topics import declare_topics, pipeline_topics
from streams.settings import Settings
from tests.integration.helpers import ENGINE_PARTITIONS, own_topics

TopicFactory = Callable[..., str]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration as ``integration``."""
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The settings every test uses: the environment's, as a user would have them."""
    return Settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Iterator[Stack]:
    """The local stack, up and ready; stops at the end only what it started."""
    stack = Stack(settings)
    before = {s.name: s.state for s in stack.status()}
    stack.up()
    yield stack
    for service in stack.services:
        if before[service.name] == ServiceState.STOPPED:
            service.stop()


def _unique(request: pytest.FixtureRequest, prefix: str) -> str:
    """A name no other test uses: the test's name plus random hex."""
    test = re.sub(r"[^a-zA-Z0-9]+", "_", request.node.name)[:40].strip("_")
    return f"{prefix}{test}_{uuid.uuid4().hex[:8]}"


class Admin:
    """Topic chores of the tests, on the project's client factory."""

    def __init__(self, settings: Settings) -> None:
        self._admin = admin_client(settings, "controlfeed-tests", log_level=2)

    def create(self, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
        """Create ``name``; wait until it exists."""
        new = NewTopic(name, partitions, 1, config=config or {})
        self._admin.create_topics([new])[name].result(timeout=30)

    def names(self) -> set[str]:
        """Every topic on the broker."""
        return set(self._admin.list_topics(timeout=30).topics)

    def delete(self, names: list[str]) -> None:
        """Delete those of ``names`` that exist."""
        present = [n for n in names if n in self.names()]
        if present:
            for future in self._admin.delete_topics(present, operation_timeout=30).values():
                future.result(timeout=60)


@pytest.fixture
def kafka_admin(stack: Stack, settings: Settings) -> Admin:
    """Topic chores on the stack's broker."""
    return Admin(settings)


@pytest.fixture
def new_topic(request: pytest.FixtureRequest, kafka_admin: Admin) -> Iterator[TopicFactory]:
    """Create topics unique to this test; all are deleted afterwards.

    ``new_topic(partitions=3, config={"cleanup.policy": "compact"})`` returns the name.
    """
    created: list[str] = []

    def make(partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = _unique(request, "test.")
        kafka_admin.create(name, partitions, config)
        created.append(name)
        return name

    yield make
    kafka_admin.delete(created)


@pytest.fixture
def mine(settings: Settings, kafka_admin: Admin) -> Iterator[Settings]:
    """Settings with topic names only this test uses; whatever was created is deleted after."""
    own = own_topics(settings)
    yield own
    kafka_admin.delete([s.name for s in pipeline_topics(own)])


@pytest.fixture
def worker_settings(stack: Stack, mine: Settings, kafka_admin: Admin) -> Iterator[Settings]:
    """``mine`` plus engine and state topics and consumer groups of this test (both
    topics removed afterwards)."""
    tag = uuid.uuid4().hex[:8]
    own = mine.model_copy(
        update={
            "topic_engine": f"test.engine.{tag}",
            "engine_partitions": ENGINE_PARTITIONS,
            "worker_group": f"test-worker-{tag}",
        }
    )
    yield own
    kafka_admin.delete([own.topic_engine, own.topic_state])


@pytest.fixture
def declared(mine: Settings) -> Settings:
    """``mine`` with every pipeline topic declared."""
    declare_topics(mine)
    return mine


@pytest.fixture
def ch_database(request: pytest.FixtureRequest, stack: Stack, settings: Settings) -> Iterator[str]:
    """A ClickHouse database unique to this test, dropped afterwards."""
    name = _unique(request, "test_")
    client = Client.from_url(settings.stack_clickhouse_url)
    client.execute(f"CREATE DATABASE {name}")
    yield name
    client.execute(f"DROP DATABASE IF EXISTS {name}")
    client.disconnect()


@pytest.fixture
def ch_client(ch_database: str, settings: Settings) -> Iterator[Client]:
    """A clickhouse-driver client whose default database is this test's own."""
    client = Client("127.0.0.1", port=settings.clickhouse_tcp_port, database=ch_database)
    yield client
    client.disconnect()
