"""The local stack: a real Kafka, ClickHouse, Alertmanager and Prometheus on loopback.

Public surface: ``Stack`` (up / down / status), the per-service classes, and
``KafkaRelease`` (the cached Kafka jars).
"""

from streams.devtools.stack.clickhouse import ClickHouseService
from streams.devtools.stack.kafka import KafkaRelease, KafkaService
from streams.devtools.stack.manager import SERVICE_NAMES, Stack
from streams.devtools.stack.prometheus import PrometheusService
from streams.devtools.stack.service import Service, ServiceState, ServiceStatus

__all__ = [
    "SERVICE_NAMES",
    "ClickHouseService",
    "KafkaRelease",
    "KafkaService",
    "PrometheusService",
    "Service",
    "ServiceState",
    "ServiceStatus",
    "Stack",
]
