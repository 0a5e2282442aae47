"""The local stack as a whole: ``controlfeed stack up | down | status``.

Called by the CLI and by the tests' session fixtures. ``up`` launches every
service that is not running yet, then waits for all of them, so Kafka's JVM
start overlaps the others; ``down`` stops only what this stack started.
"""

from __future__ import annotations

from streams.devtools.stack.alertmanager import AlertmanagerService
from streams.devtools.stack.clickhouse import ClickHouseService
from streams.devtools.stack.kafka import KafkaService
from streams.devtools.stack.prometheus import PrometheusService
from streams.devtools.stack.service import Service, ServiceStatus
from streams.settings import Settings

__all__ = ["SERVICE_NAMES", "Stack"]

SERVICE_NAMES = ("kafka", "clickhouse", "alertmanager", "prometheus")
"""The services, in start order."""


class Stack:
    """Kafka, ClickHouse, Alertmanager and Prometheus on this machine, as the settings
    place them."""

    def __init__(self, settings: Settings, only: tuple[str, ...] = SERVICE_NAMES) -> None:
        every: dict[str, Service] = {
            "kafka": KafkaService(settings),
            "clickhouse": ClickHouseService(settings),
            "alertmanager": AlertmanagerService(settings),
            "prometheus": PrometheusService(settings),
        }
        self.services = [every[name] for name in SERVICE_NAMES if name in only]
        """The services this stack manages, in start order."""

    def up(self) -> list[ServiceStatus]:
        """Start what is not running and wait until all are ready; raises ``StackError``."""
        for service in self.services:
            service.start()
        statuses = [service.wait_ready() for service in self.services]
        for service in self.services:
            service.after_ready()
        return statuses

    def down(self) -> list[tuple[str, bool]]:
        """Stop what this stack started; (name, was running) per service, in reverse order."""
        return [(s.name, s.stop()) for s in reversed(self.services)]

    def status(self) -> list[ServiceStatus]:
        """The state of each service; never raises."""
        return [service.status() for service in self.services]
