"""Replay event files into Kafka: ``controlfeed replay`` and the loop behind it.

Modules, lowest first: ``files`` (reading .jsonl / .jsonl.gz), ``routing``
(topic and key per line, without a full parse), ``pacing`` (by event time or
rate), ``producer`` (the sink interface, the delivery ledger, confluent-kafka),
``runner`` (the loop and its report), ``command`` (the click command and the
summary). ``docs/replay.md`` describes the behaviour for users.
"""

from streams.replay.command import replay
from streams.replay.exceptions import ReplayError, ReplayFileError, TopicsMissingError
from streams.replay.producer import DeliveryLedger, KafkaSink, RecordSink
from streams.replay.routing import Router
from streams.replay.runner import ReplayOptions, ReplayReport, run_replay

__all__ = [
    "DeliveryLedger",
    "KafkaSink",
    "RecordSink",
    "ReplayError",
    "ReplayFileError",
    "ReplayOptions",
    "ReplayReport",
    "Router",
    "TopicsMissingError",
    "replay",
    "run_replay",
]
