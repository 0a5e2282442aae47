"""docker/grafana/: the dashboard is well formed and reads only metrics the worker exports.

The queries themselves are run against a real Prometheus by
``tests/integration/test_grafana_dashboard.py``; here nothing runs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import streams.metrics  # noqa: F401 (registers the catalogue in the default registry)
from streams.settings import PROJECT_ROOT

GRAFANA = PROJECT_ROOT / "docker" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "controlfeed.json"
PROVISIONING = GRAFANA / "provisioning"
GRAFANA_VARIABLES = {"$__rate_interval", "$__range"}
"""The Grafana variables the queries may use (the integration test knows how to fill them)."""


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


@pytest.fixture(scope="module")
def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _exprs(panels: list[dict[str, Any]]) -> list[str]:
    return [t["expr"] for p in panels for t in p["targets"]]


def _exported_names() -> set[str]:
    """Every series name the worker's registry can expose, ``up`` added by Prometheus."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names = {"up"}
    for family in REGISTRY.collect():
        names |= {family.name + s for s in suffixes.get(family.type, ("",))}
    return names


def test_the_datasource_is_provisioned_with_a_fixed_uid() -> None:
    sources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())

    [source] = sources["datasources"]
    assert source["type"] == "prometheus" and source["uid"] == "controlfeed-prometheus"
    assert source["url"] == "http://prometheus:9090"


def test_every_panel_and_target_names_the_provisioned_datasource(
    panels: list[dict[str, Any]],
) -> None:
    sources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    uid = sources["datasources"][0]["uid"]

    assert panels
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]


def test_panel_ids_and_ref_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [p["id"] for p in dashboard["panels"]]

    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]


def test_panels_fit_the_24_column_grid(dashboard: dict[str, Any]) -> None:
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]


def test_queries_read_only_metrics_the_worker_exports(panels: list[dict[str, Any]]) -> None:
    exported = _exported_names()
    used = {n for e in _exprs(panels) for n in re.findall(r"\b(?:controlfeed_\w+|up)\b", e)}

    assert used - exported == set(), f"not exported by streams/metrics.py: {used - exported}"


def test_queries_use_only_the_grafana_variables_the_test_fills(
    panels: list[dict[str, Any]],
) -> None:
    used = {v for e in _exprs(panels) for v in re.findall(r"\$\w+", e)}

    assert used <= GRAFANA_VARIABLES


@pytest.mark.parametrize(
    "metric",
    [
        "controlfeed_events_total",
        "controlfeed_dead_letters_total",
        "controlfeed_alerts_total",
        "controlfeed_detection_latency_seconds_bucket",
        "controlfeed_consumer_lag_records",
        "controlfeed_watermark_delay_seconds",
        "controlfeed_sink_rows_total",
        "controlfeed_sink_errors_total",
        "controlfeed_sink_paused",
        "controlfeed_engine_buffered_events",
        "controlfeed_engine_timers",
        "controlfeed_engine_seen_ids",
        "controlfeed_checkpoints_total",
    ],
)
def test_the_dashboard_shows(metric: str, panels: list[dict[str, Any]]) -> None:
    assert any(metric in e for e in _exprs(panels))


def test_the_provider_loads_the_folder_compose_mounts() -> None:
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "controlfeed.yml").read_text())

    [provider] = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
