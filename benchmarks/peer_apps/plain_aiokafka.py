"""Peer ``plain-aiokafka``: a bare aiokafka consumer, ``getmany`` and ``json.loads``.

Run by ``benchmarks/peers.py`` as ``python -m benchmarks.peer_apps.plain_aiokafka``.
It subscribes to every feed topic (aiokafka's defaults but the group and
``auto_offset_reset="earliest"``), takes what ``getmany`` has and
``json.loads`` each value, counting what is not JSON. No rule, no output:
aiokafka is Faust's client, so this is the ceiling of a Faust app's reading.
Exits 1 on a Kafka error.
"""

from __future__ import annotations

import asyncio
import json

import aiokafka
from aiokafka import AIOKafkaConsumer

from benchmarks.peer_apps.common import Reporter, options


async def run() -> None:
    args = options(__doc__ or "").parse_args()
    consumer = AIOKafkaConsumer(
        *args.topics.split(","),
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    report = Reporter()
    loads = json.loads
    seen = malformed = 0
    try:
        while seen < args.records:
            batch = await consumer.getmany(timeout_ms=1000)
            if not batch:
                continue
            report.first()
            for messages in batch.values():
                for message in messages:
                    try:
                        loads(message.value)
                    except ValueError:  # JSONDecodeError and UnicodeDecodeError
                        malformed += 1
                seen += len(messages)
            report.progress(seen)
        report.done(seen, malformed=malformed, version=f"aiokafka {aiokafka.__version__}")
        await asyncio.to_thread(report.wait_for_parent)
    finally:
        await consumer.stop()


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
