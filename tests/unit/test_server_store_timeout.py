"""``ServerStore`` against a port that takes the connection and never says hello."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from sinks.exceptions import StoreUnavailableError
from sinks.server import ServerStore


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the backlog does) and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_the_handshake_fails_in_the_connect_time_out_not_the_read_time_out(
    silent_port: int,
) -> None:
    store = ServerStore(f"clickhouse://127.0.0.1:{silent_port}/default", connect_timeout=1.0,
                        timeout=60.0)  # fmt: skip
    started = time.monotonic()

    with pytest.raises(StoreUnavailableError, match="unreachable"):
        store.query("SELECT 1")

    assert time.monotonic() - started < 10  # not the 60 s read time-out
