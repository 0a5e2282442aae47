"""Alertmanager for the local stack: Debian's ``prometheus-alertmanager``.

The local Prometheus sends it the pipeline's alerting rules
(``docker/prometheus/rules/controlfeed.yml``; ``render_local_config`` points its
``alerting:`` block here). Its config (``LOCAL_CONFIG``) routes every alert to a
receiver with no integration: on one machine the alerts are read in its web UI
and API (``/api/v2/alerts``), and nothing is sent anywhere. Production routes
them to a webhook and e-mail (``docker/alertmanager/alertmanager.yml``). It runs
as one instance: clustering is off, so it opens no gossip port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

from streams.devtools.stack.process import http_ready
from streams.devtools.stack.service import Service
from streams.devtools.stack.tools import find_program

__all__ = ["LOCAL_CONFIG", "AlertmanagerService"]

_PACKAGE: Final = "prometheus-alertmanager"

LOCAL_CONFIG: Final[dict[str, Any]] = {
    "route": {
        "receiver": "local",
        "group_by": ["alertname", "feed"],
        "group_wait": "1s",
        "group_interval": "10s",
        "repeat_interval": "4h",
    },
    "receivers": [{"name": "local"}],
}
"""Every alert to a receiver that sends nothing: read them in the UI or the API."""


class AlertmanagerService(Service):
    """An Alertmanager on 127.0.0.1 that the local Prometheus sends alerts to."""

    name = "alertmanager"
    marker = "alertmanager"
    ready_timeout = 30.0

    @property
    def ports(self) -> list[int]:
        return [self.settings.alertmanager_port]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.alertmanager_port}"

    @property
    def log_path(self) -> Path:
        return self.daemon.output_file

    @property
    def config_path(self) -> Path:
        """The local config (``LOCAL_CONFIG``), written at each start."""
        return self.home / "alertmanager.yml"

    def check_tools(self) -> None:
        find_program("prometheus-alertmanager", _PACKAGE)

    def prepare(self) -> None:
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(LOCAL_CONFIG, sort_keys=False)
        self.config_path.write_text(f"# Written by controlfeed stack ({__name__}).\n{text}")

    def command(self) -> list[str]:
        return [
            str(find_program("prometheus-alertmanager", _PACKAGE)),
            f"--config.file={self.config_path}",
            f"--storage.path={self.home / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.settings.alertmanager_port}",
            "--cluster.listen-address=",
        ]

    def probe(self) -> bool:
        return http_ready(f"{self.settings.alertmanager_url}/-/ready")
