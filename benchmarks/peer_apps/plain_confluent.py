"""Peer ``plain-confluent`` (and ``plain-confluent-16m``): a bare confluent-kafka consumer.

Run by ``benchmarks/peers.py`` as ``python -m benchmarks.peer_apps.plain_confluent``
(``--fetch-16m`` for the second system). It subscribes to every feed topic
with librdkafka's defaults (only the group and ``auto.offset.reset=earliest``
set; ``--fetch-16m`` adds ``max.partition.fetch.bytes`` and ``fetch.max.bytes``
of 16 MiB) and ``orjson.loads`` each value, counting what is not JSON. No
rule, no output: the ceiling of reading and decoding in one Python process.
It is deliberately not made by ``streams.kafka.clients`` (the pipeline's
factory): a peer runs with the client's own defaults. Exits 1 on a Kafka
error.
"""

from __future__ import annotations

import orjson
from confluent_kafka import Consumer, KafkaException, libversion, version

from benchmarks.peer_apps.common import Reporter, options

MIB = 1024 * 1024


def main() -> None:
    parser = options(__doc__ or "")
    parser.add_argument("--fetch-16m", action="store_true", help="16 MiB fetches")
    args = parser.parse_args()
    config: dict[str, object] = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
    }
    if args.fetch_16m:
        config |= {"max.partition.fetch.bytes": 16 * MIB, "fetch.max.bytes": 16 * MIB}
    consumer = Consumer(config)
    consumer.subscribe(args.topics.split(","))
    report = Reporter()
    loads, bad_json = orjson.loads, orjson.JSONDecodeError
    seen = malformed = 0
    try:
        while seen < args.records:
            # Never more than is left: consume() waits its whole timeout for a full batch.
            batch = consumer.consume(min(10_000, args.records - seen), 1.0)
            if not batch:
                continue
            report.first()
            for message in batch:
                if message.error() is not None:
                    raise KafkaException(message.error())
                try:
                    loads(message.value() or b"")
                except bad_json:
                    malformed += 1
            seen += len(batch)
            report.progress(seen)
        versions = f"confluent-kafka {version()}, librdkafka {libversion()[0]}"
        report.done(seen, malformed=malformed, version=versions)
        report.wait_for_parent()
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
