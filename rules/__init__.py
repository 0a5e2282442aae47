"""The rules of docs/rules.md as plain Python over explicit state, and their streaming engine.

No Kafka, Faust or ClickHouse here: the worker (``streams/``) feeds envelopes
in and takes alerts out. The public surface::

    from rules import Engine, load_config, route, partition_for
    config = load_config(settings.rules_file)            # defaults + optional override
    copies = route(clean_event, config)                  # [(family, key), ...]
    p = partition_for(family, key, partitions)           # stable across processes
    engine = Engine(config, sources=[...])               # one per engine partition
    alerts = engine.feed(envelope)                       # schemas.alerts.Alert objects
    data = engine.snapshot(); Engine.restore(data, config)
    tune_gc()                                            # once at start: see rules.tuning

The rules themselves are listed in ``schemas.catalogue`` (one row each: family,
detection, severities, subject, thresholds). Modules: ``engine`` (buffer,
watermark, order, dispatch), ``routing``,
``config`` (+ ``defaults.toml``), ``state`` (snapshot), ``tuning`` (gc), ``reference`` (risk
areas and venues as of any time), one module per family (``venues``,
``people``, ``checkpoints``, ``incidents``, ``patrol``, ``inspections``), the
stateless ``events``, and helpers (``clock``, ``context``, ``alerting``,
``exceptions``). docs/watermark.md explains the design.
"""

from rules.config import Place, RulesConfig, Thresholds, default_config, load_config
from rules.engine import Engine
from rules.exceptions import ConfigError, RulesError, SnapshotError
from rules.routing import is_broadcast, partition_for, route
from rules.state import EngineStats
from rules.tuning import tune_gc
from schemas.catalogue import DetectionPath, detection_path

__all__ = [
    "ConfigError",
    "DetectionPath",
    "Engine",
    "EngineStats",
    "Place",
    "RulesConfig",
    "RulesError",
    "SnapshotError",
    "Thresholds",
    "default_config",
    "detection_path",
    "is_broadcast",
    "load_config",
    "partition_for",
    "route",
    "tune_gc",
]
