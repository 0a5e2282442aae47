"""A one-agent Faust app for the worker test: every record of ECHO_IN goes to ECHO_OUT.

Run as ``python -m faust -A tests.integration.apps.echo worker``; the test sets
CONTROLFEED_KAFKA_BOOTSTRAP_SERVERS, ECHO_APP_ID, ECHO_IN and ECHO_OUT.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from streams.kafka.faust_app import create_app
from streams.settings import Settings

app = create_app(Settings(), app_id=os.environ["ECHO_APP_ID"])
source = app.topic(os.environ["ECHO_IN"], value_type=bytes, value_serializer="raw")
sink = app.topic(os.environ["ECHO_OUT"], value_type=bytes, value_serializer="raw")


@app.agent(source, concurrency=1)
async def echo(stream: AsyncIterator[bytes]) -> None:
    """Forward each value, marked, so the test knows the agent handled it."""
    async for value in stream:
        await sink.send(value=b"echo:" + value)
