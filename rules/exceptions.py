"""The errors of the rules package, one base class under the project's root::

    ControlfeedError      (schemas.errors) message and hint
     └── RulesError
          ├── ConfigError      a rules configuration file is missing, not TOML, or has a bad value
          └── SnapshotError    an engine snapshot cannot be restored

Each carries a hint by default (what to do, in words of the rules package: the
file, never the setting that named it). The engine itself never raises for
data: bad input is stopped at ingest (``schemas.decode``), and anything that
reaches the engine is processed.
"""

from __future__ import annotations

from typing import Final

from schemas.errors import ControlfeedError

__all__ = ["ConfigError", "RulesError", "SnapshotError"]

_FIX_THE_FILE: Final = (
    "Fix the rules file named above: rules/defaults.toml shows every table and setting "
    "with its default, docs/rules.md what each one means."
)
_REBUILD: Final = (
    "Nothing to do by hand: the worker rebuilds this partition's engine from the engine "
    "topic (docs/watermark.md)."
)


class RulesError(ControlfeedError):
    """Base of every error raised by the rules package."""


class ConfigError(RulesError):
    """The rules configuration cannot be used; the message names the file and the setting.

    Raised by ``rules.config.load_config``; the worker's start-up adds the
    setting that named the file (``streams.worker.startup.rules_config``).
    """

    def __init__(self, message: str, hint: str = _FIX_THE_FILE) -> None:
        super().__init__(message, hint)


class SnapshotError(RulesError):
    """An engine snapshot is not one this version wrote; the worker must rebuild its state.

    Raised by ``rules.state`` (through ``Engine.restore``); the worker's engine
    stage catches it, logs it and rebuilds the partition.
    """

    def __init__(self, message: str, hint: str = _REBUILD) -> None:
        super().__init__(message, hint)
