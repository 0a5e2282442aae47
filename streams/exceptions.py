"""The local stack's errors, and the root ``ControlfeedError`` re-exported for ``streams``.

    ControlfeedError            (schemas.errors) ``str(err)`` says what went wrong,
    |                           ``err.hint`` what to do about it
    +-- StackError              a local service cannot be fetched, started or reached
        +-- MissingToolError    Java, Maven or a Debian package is not installed
        +-- PortInUseError      a port the stack needs is taken by something else
        +-- ServiceNotReadyError  a service started but never became ready

``schemas.errors`` draws the whole tree (the rules', the sinks', replay's ...).
The CLI catches ``ControlfeedError`` and prints message and hint, never a
traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from schemas.errors import ControlfeedError

__all__ = [
    "ControlfeedError",
    "MissingToolError",
    "PortInUseError",
    "ServiceNotReadyError",
    "StackError",
]


class StackError(ControlfeedError):
    """A service of the local stack cannot be fetched, started, stopped or reached."""


class MissingToolError(StackError):
    """A program the stack needs (java, mvn, clickhouse-server, prometheus) is missing."""


class PortInUseError(StackError):
    """A port the stack needs is taken by a process that is not the expected service."""


class ServiceNotReadyError(StackError):
    """A service was started but did not pass its readiness check in time."""
