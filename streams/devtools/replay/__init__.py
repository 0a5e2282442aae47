"""Replay event files into Kafka: ``controlfeed replay`` and the loop behind it.

Modules, lowest first: ``files`` (reading .jsonl / .jsonl.gz), ``routing``
(topic and key per line, without a full parse), ``pacing`` (by event time or
rate), ``producer`` (the sink interface, the delivery ledger, confluent-kafka),
``runner`` (the loop and its report), and ``streams.cli.replay`` is the click command
and the summary. ``docs/replay.md`` describes the behaviour for users.
"""

from streams.devtools.replay.exceptions import ReplayError, ReplayFileError, TopicsMissingError
from streams.devtools.replay.producer import DeliveryLedger, KafkaSink, RecordSink
from streams.devtools.replay.routing import Router
from streams.devtools.replay.runner import ReplayOptions, ReplayReport, run_replay

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
    "run_replay",
]
