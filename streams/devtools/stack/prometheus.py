"""Prometheus for the local stack: Debian's ``prometheus`` with the project's config.

The config is ``docker/prometheus/prometheus.yml``, the one production uses;
``render_local_config`` rewrites only what differs on one machine: every
scrape target moves to 127.0.0.1 with the port of the settings (a job that
discovers its targets by DNS, as the compose workers are found, becomes one
static target), the Alertmanager of the ``alerting:`` block becomes the local
one on ``CONTROLFEED_ALERTMANAGER_PORT``, and rule file globs become absolute
(they are relative to the config file's folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from streams.devtools.stack.process import http_ready
from streams.devtools.stack.service import Service
from streams.devtools.stack.tools import checkout_file, find_program
from streams.exceptions import StackError
from streams.settings import PROJECT_ROOT, Settings

__all__ = ["PROMETHEUS_CONFIG", "PrometheusService", "render_local_config"]

PROMETHEUS_CONFIG = PROJECT_ROOT / "docker" / "prometheus" / "prometheus.yml"
"""The production scrape config, also the local stack's source."""


def _job_ports(settings: Settings) -> dict[str, int]:
    """The port each scrape job of the config reaches on the local stack."""
    return {"controlfeed-worker": settings.metrics_port, "prometheus": settings.prometheus_port}


def render_local_config(settings: Settings, source: Path = PROMETHEUS_CONFIG) -> dict[str, Any]:
    """The production config with targets on 127.0.0.1 and absolute rule globs.

    Called by ``PrometheusService.prepare`` (``controlfeed stack up``) and the
    promtool tests. Every scrape job's targets, static or found by DNS
    (``dns_sd_configs``), become ``127.0.0.1:<port of the job>``; every
    Alertmanager target becomes ``127.0.0.1:<alertmanager_port>``. A job this
    module has no local port for raises ``StackError`` (the config gained a
    job and the stack would scrape nothing there).
    """
    config: dict[str, Any] = yaml.safe_load(checkout_file(source).read_text())
    ports = _job_ports(settings)
    config["rule_files"] = [str(source.parent / rf) for rf in config.get("rule_files", [])]
    for job in config.get("scrape_configs", []):
        name = job["job_name"]
        if name not in ports:
            raise StackError(
                f"{source}: scrape job {name!r} has no local port.",
                hint="Add it to streams/devtools/stack/prometheus.py:_job_ports.",
            )
        local = [f"127.0.0.1:{ports[name]}"]
        if job.pop("dns_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": local}]
        for static in job.get("static_configs", []):
            static["targets"] = local
    for manager in config.get("alerting", {}).get("alertmanagers", []):
        for static in manager.get("static_configs", []):
            static["targets"] = [f"127.0.0.1:{settings.alertmanager_port}"]
    return config


class PrometheusService(Service):
    """A Prometheus server on 127.0.0.1 scraping the local worker."""

    name = "prometheus"
    marker = "prometheus"
    ready_timeout = 60.0

    @property
    def ports(self) -> list[int]:
        return [self.settings.prometheus_port]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.settings.prometheus_port}"

    @property
    def log_path(self) -> Path:
        return self.daemon.output_file

    @property
    def config_path(self) -> Path:
        """The rendered local config."""
        return self.home / "prometheus.yml"

    def check_tools(self) -> None:
        find_program("prometheus", "prometheus")

    def prepare(self) -> None:
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(render_local_config(self.settings), sort_keys=False)
        self.config_path.write_text(
            f"# Written by controlfeed stack from {PROMETHEUS_CONFIG}.\n{text}"
        )

    def command(self) -> list[str]:
        return [
            str(find_program("prometheus", "prometheus")),
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.home / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.settings.prometheus_port}",
            "--web.enable-lifecycle",
        ]

    def probe(self) -> bool:
        return http_ready(f"{self.settings.prometheus_url}/-/ready")
