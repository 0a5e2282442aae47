"""The errors of the rules package, one base class::

    RulesError
     ├── ConfigError      a rules configuration file is missing, not TOML, or has a bad value
     └── SnapshotError    an engine snapshot cannot be restored

The engine itself never raises for data: bad input is stopped at ingest
(``schemas.decode``), and anything that reaches the engine is processed.
"""

from __future__ import annotations

__all__ = ["ConfigError", "RulesError", "SnapshotError"]


class RulesError(Exception):
    """Base of every error raised by the rules package."""


class ConfigError(RulesError):
    """The rules configuration cannot be used; the message names the file and the setting."""


class SnapshotError(RulesError):
    """An engine snapshot is not one this version wrote; the worker must rebuild its state."""
