"""Errors of ``controlfeed replay``, each with what the user should do.

    ControlfeedError            (schemas.errors) message and hint
    +-- ReplayError             replay cannot start or go on
        +-- ReplayFileError     a file is missing, unreadable, or not gzip / damaged gzip
        +-- TopicsMissingError  a feed topic does not exist on the broker

Records that could not be delivered are not an error here: they are counted in
the replay's report, which the command prints before exiting with status 1.
"""

from __future__ import annotations

from streams.exceptions import ControlfeedError

__all__ = ["ReplayError", "ReplayFileError", "TopicsMissingError"]


class ReplayError(ControlfeedError):
    """Replay cannot start, or cannot go on."""


class ReplayFileError(ReplayError):
    """An input file is missing, unreadable, or its gzip stream is damaged."""


class TopicsMissingError(ReplayError):
    """A topic replay would send to does not exist (the broker creates none by itself)."""
